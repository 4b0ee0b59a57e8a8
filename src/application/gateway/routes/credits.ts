// GET /v1/credits: where the caller's credit account stands, so a developer can see what is left before a
// request is refused with 402, and what the chain has not debited yet. Amounts are wei of compute credits
// (NEU has 18 decimals), as decimal strings: they outgrow a JSON number.
import type { FastifyInstance } from 'fastify';
import { principalOf } from '../auth.ts';
import type { CreditAccounts } from '../ports.ts';

export function creditRoutes(app: FastifyInstance, credits: CreditAccounts): void {
  app.get('/v1/credits', async (request) => {
    const { account } = principalOf(request);
    const standing = await credits.standing(account);
    return {
      object: 'credits',
      account,
      unit: 'wei',
      balance: standing.balance.toString(),
      unsettled: standing.unsettled.toString(),
      held: standing.held.toString(),
      available: standing.available.toString(),
    };
  });
}
