/** Simulated cameras (`gbcast camera`'s CameraFleet) registering to a test signaling. */
import { CameraFleet, type CameraFleetOptions } from '../../camera/sip/fleet.ts';
import { silentLogger } from '../../common/logger.ts';
import type { Signaling } from '../../signaling/signaling.ts';
import { fixturePath } from './fixtures.ts';
import { TEST_PASSWORD, TEST_SERVER_ID } from './signaling.ts';

/**
 * Starts one camera (device ids from `firstDeviceId`) registering over loopback to `signaling` with
 * the test password, one channel, a keepalive every second and looping avatar.h264 (a keyframe about
 * every second, so a viewer joining a running stream starts soon) with PCMA audio; `options` change
 * any of it.
 */
export function startTestCameras(signaling: Pick<Signaling, 'sipPort'>, firstDeviceId: string, options: Partial<CameraFleetOptions> = {}): Promise<CameraFleet> {
  return CameraFleet.start({
    server: { id: TEST_SERVER_ID, host: '127.0.0.1', port: signaling.sipPort },
    password: TEST_PASSWORD,
    firstDeviceId,
    count: 1,
    channels: 1,
    localAddress: '127.0.0.1',
    keepaliveIntervalMs: 1000,
    media: { video: fixturePath('avatar.h264'), audio: 'pcma', loop: true },
    logger: silentLogger(),
    ...options,
  });
}
