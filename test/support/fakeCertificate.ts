/** What the certificate command prints (components/issueCertificate.ts: a stored TLS state), faked. */
export const FAKE_CERTIFICATE = {
    version: 2,
    cas: [
        {
            certificate: "CA-PEM\n",
            privateKey: "CA-KEY-PEM\n",
            notBefore: "2026-01-01T00:00:00.000Z",
            notAfter: "2036-01-01T00:00:00.000Z",
            publishedAt: "2026-01-01T00:00:00.000Z",
            hasKey: true,
        },
    ],
    signer: 0,
    serving: {
        certificate: "CERT-PEM\n",
        privateKey: "KEY-PEM\n",
        notBefore: "2026-11-01T00:00:00.000Z",
        notAfter: "2027-01-01T00:00:00.000Z",
        serverName: "eksa-metrics-metrics-proxy",
        period: "60d#1",
    },
};
