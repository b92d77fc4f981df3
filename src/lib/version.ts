/** confkube's version: the CLI's `--version`, the service's `x-ms-maa-service-version` header (= package.json, tested). */
export const CONFKUBE_VERSION = '0.1.0';
