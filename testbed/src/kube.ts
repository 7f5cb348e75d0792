export const KUBE_VERSION = 'v1.34.4';
