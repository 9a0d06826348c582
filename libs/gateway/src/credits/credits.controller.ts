import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { DomainError, grantCreditsSchema, type Principal } from '@switchyard/contracts';
import { GATEWAY_DEPS, type CreditBalanceView, type CreditLedgerEntry, type CreditsAccess, type GatewayDeps } from '../gateway-deps';
import { Caller } from '../http/request-context';
import { parseInput } from '../http/validation';
import { ApiZodBody } from '../openapi';

const ledgerQuerySchema = z.object({
  after: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
});

/** The caller's organization's credits, and the grants only an admin makes. */
@ApiTags('credits')
@ApiSecurity('api-key')
@Controller('v1')
export class CreditsController {
  constructor(@Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps) {}

  @Get('credits')
  @ApiOperation({ summary: "The organization's balance and ledger (grants, debits for jobs, refunds)" })
  async credits(@Caller() principal: Principal, @Query() query: unknown): Promise<CreditBalanceView & { ledger: CreditLedgerEntry[] }> {
    const options = parseInput(ledgerQuerySchema, query, 'query');
    const credits = this.access();
    const [balance, ledger] = await Promise.all([
      credits.balance(principal.orgId),
      credits.ledger(principal.orgId, {
        ...(options.after === undefined ? {} : { after: options.after }),
        ...(options.limit === undefined ? {} : { limit: options.limit }),
      }),
    ]);
    return { ...balance, ledger };
  }

  @Post('admin/organizations/:orgId/credits')
  @HttpCode(201)
  @ApiOperation({ summary: 'Grant credits to an organization (admins)' })
  @ApiZodBody(grantCreditsSchema)
  grant(@Caller() principal: Principal, @Param('orgId') orgId: string, @Body() body: unknown): Promise<CreditBalanceView> {
    if (principal.role !== 'admin') throw new DomainError('FORBIDDEN', 'only an admin grants credits');
    const { amount, reason } = parseInput(grantCreditsSchema, body, 'body');
    return this.access().grant(orgId, amount, principal.userId, reason);
  }

  private access(): CreditsAccess {
    if (!this.deps.credits) throw new DomainError('SERVICE_UNAVAILABLE', 'credits are not configured here');
    return this.deps.credits;
  }
}
