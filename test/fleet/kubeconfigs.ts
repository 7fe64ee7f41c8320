/** A well-formed kubeconfig (what the program's own validation accepts), for fleet files in tests. */
export function kubeconfigFor(cluster: string, server = "https://10.0.0.10:6443"): string {
    return `apiVersion: v1
kind: Config
current-context: admin@${cluster}
clusters:
- name: ${cluster}
  cluster:
    server: ${server}
    certificate-authority-data: AAAA
contexts:
- name: admin@${cluster}
  context: { cluster: ${cluster}, user: admin }
users:
- name: admin
  user: { token: not-a-real-token }
`;
}
