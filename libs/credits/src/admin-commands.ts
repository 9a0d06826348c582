import { DomainError, grantCreditsSchema } from '@switchyard/contracts';
import type { AdminCommand } from '@switchyard/accounts';
import type { CreditsLedger } from './ledger';

/** Who a grant from the admin CLI is recorded as: the CLI has an operator, not a user. */
export const ADMIN_CLI_ACTOR = 'admin-cli';

function parseGrant(amountText: string, reason: string | undefined): { amount: number; reason?: string } {
  // Digits only: Number() would take "1e3", " 5" or "0x10".
  const parsed = grantCreditsSchema.safeParse({
    amount: /^[0-9]{1,10}$/.test(amountText) ? Number(amountText) : Number.NaN,
    ...(reason === undefined ? {} : { reason }),
  });
  if (!parsed.success) {
    throw new DomainError(
      'VALIDATION_FAILED',
      `amount must be a whole number from 1 to 1000000000 and reason at most 200 characters (got amount "${amountText.slice(0, 40)}")`,
      { field: parsed.error.issues[0]?.path.join('.') ?? 'amount' },
    );
  }
  return parsed.data;
}

/**
 * The credits' admin commands. AdminCommand.run receives only the AccountsStore, so the ledger
 * comes in here: `{ ...ACCOUNTS_ADMIN_COMMANDS, ...creditsAdminCommands(ledger) }`.
 */
export function creditsAdminCommands(ledger: Pick<CreditsLedger, 'grant'>): Readonly<Record<string, AdminCommand>> {
  return {
    'credits:grant': {
      args: '<org> <amount> [reason]',
      summary: 'grant credits to an organization (amount: a whole number, 1 to 1000000000)',
      async run([orgName = '', amountText = '', reasonText], store) {
        const { amount, reason } = parseGrant(amountText, reasonText);
        const organization = await store.findOrganizationByName(orgName);
        if (!organization) throw new DomainError('NOT_FOUND', `no organization named "${orgName}"`);
        const totals = await ledger.grant(organization.id, amount, ADMIN_CLI_ACTOR, reason);
        return `granted ${amount} credits to ${organization.name} (${organization.id}); balance ${totals.balance}`;
      },
    },
  };
}
