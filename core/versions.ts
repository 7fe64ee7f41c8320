/**
 * The versions of the images the product deploys by default: the one place they are pinned.
 * dev/toolchain/versions.sh reads KUBE_RBAC_PROXY_VERSION from here for the binary the tests run
 * (test/core/versions.spec.ts checks that it does).
 */

/** haproxy of the EKS Anywhere docs page's manual install. */
export const HAPROXY_IMAGE_TAG = "v0.20.0-eks-a-54";
/** kube-rbac-proxy, the token check in front of kube-proxy and etcd. */
export const KUBE_RBAC_PROXY_VERSION = "v0.19.1";
/** curl of the verification's pods in cluster mode. */
export const CURL_VERSION = "8.11.1";

export const DEFAULT_IMAGES = {
    haproxy: `public.ecr.aws/eks-anywhere/kubernetes-sigs/kind/haproxy:${HAPROXY_IMAGE_TAG}`,
    kubeRbacProxy: `quay.io/brancz/kube-rbac-proxy:${KUBE_RBAC_PROXY_VERSION}`,
    curl: `curlimages/curl:${CURL_VERSION}`,
} as const;
