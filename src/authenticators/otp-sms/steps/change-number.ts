/** Change number: back to the phone step; the codes sent so far still count against the limits. */
import type { Transaction } from '../../../core/transaction.js';
import type { ActionResult } from '../../types.js';
import { stateOf, type OtpSmsRuntime } from '../runtime.js';
import { phoneView, type OtpView } from '../views.js';

export async function changeNumber(rt: OtpSmsRuntime, tx: Transaction): Promise<ActionResult<OtpView>> {
  const { phone: _dropped, ...rest } = stateOf(tx);
  await rt.transactions.updateWaiting(tx, { authState: rest });
  return { kind: 'view', view: phoneView('') };
}
