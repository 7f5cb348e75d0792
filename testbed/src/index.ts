/**
 * The testbed as a library: tests and the local run bring up the real dependencies once
 * and read where they are from one state file.
 *
 * @example
 * import { up, down } from '@deskplane/testbed';
 * const state = await up({ hosts: 2 }, console.log);
 * console.log(state.redis?.url, state.kube?.kubeconfig, state.hosts.map((h) => h.libvirtUri));
 * await down();
 */
export * from './state';
export * from './errors';
export { resolveConfig, statePath, type TestbedConfig } from './config';
export { loadState, readState, defaultStatePath } from './state-file';
export { up, down, status, restartRedis, type PartStatus } from './testbed';
export { checkRedis } from './redis';
export { checkKube } from './kube';
export { checkHost } from './hosts';
export { freePort, canConnect } from './ports';
export { probeSpiceLink, clientLinkMessage, ticketAnswer, type SpiceLinkProbeOptions, type SpiceLinkProbeResult } from './probes/spice';
export { startViewer, findFrame, showsPicture, cropFrame, parseXwd, parsePpm, encodePng, writePng, nonBlackPixels, ViewerExitedError, VIEWER_PACKAGES, type Viewer, type ViewerOptions, type Frame, type ScreenMatch, type ChangeWatch } from './viewer';
export { ensureHelm, HELM_VERSION } from './helm';
export { findGuest, screendump, decodePng, waitForGuestPicture, changedPixels, guestMovesOn, type GuestPicture } from './guest-screen';
export { freeHostSubnet } from './subnet';
