import { validateCommand } from '../../../tools/apple-sim/apple-schema';
import { APPLE_LOCK_COMMAND, appleRetireCommand } from './device-lifecycle.service';

describe('Apple commands of the phone lifecycle', () => {
  it('removes, on a personal iPhone, the enrollment profile the service installs, with a valid command', () => {
    const command = appleRetireCommand('personal');
    expect(command).toEqual({ RequestType: 'RemoveProfile', Identifier: 'fr.gouv.numerique.mdm-apps.enrollment' });
    expect(validateCommand('RemoveProfile', command)).toEqual([]);
  });

  it('erases a company iPhone and locks a lost one with the bare commands', () => {
    // Every key of EraseDevice and DeviceLock is optional (apple/device-management, mdm/commands/
    // device.erase.yaml and device.lock.yaml, not in the reference copy); PIN is for macOS only.
    expect(appleRetireCommand('company')).toEqual({ RequestType: 'EraseDevice' });
    expect(APPLE_LOCK_COMMAND).toEqual({ RequestType: 'DeviceLock' });
  });
});
