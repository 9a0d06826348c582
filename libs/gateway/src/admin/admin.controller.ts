import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { DomainError, ROLES, type Principal } from '@switchyard/contracts';
import { CachedAuthenticator, type Organization, type User } from '@switchyard/accounts';
import { GATEWAY_DEPS, type AccountsAdministration, type GatewayDeps } from '../gateway-deps';
import { Caller } from '../http/request-context';
import { parseInput } from '../http/validation';
import { ApiZodBody } from '../openapi';

const organizationSchema = z.object({ name: z.string().min(1).max(64) });
const userSchema = z.object({ name: z.string().min(1).max(64), role: z.enum(ROLES) });
const keySchema = z.object({ label: z.string().max(100).optional() });

/**
 * The installation's administration: organizations, users and keys. The same AccountsStore
 * methods the admin CLI (tools/admin) runs; only an admin's key reaches them.
 */
@ApiTags('admin')
@ApiSecurity('api-key')
@ApiBearerAuth('bearer')
@Controller('v1/admin')
export class AdminController {
  constructor(
    @Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps,
    @Inject(CachedAuthenticator) private readonly authenticator: CachedAuthenticator,
  ) {}

  @Post('organizations')
  @HttpCode(201)
  @ApiOperation({ summary: 'Create an organization' })
  @ApiZodBody(organizationSchema)
  createOrganization(@Caller() principal: Principal, @Body() body: unknown): Promise<Organization> {
    const { name } = parseInput(organizationSchema, body, 'body');
    return this.accounts(principal).createOrganization(name);
  }

  @Get('organizations')
  @ApiOperation({ summary: 'Every organization' })
  async organizations(@Caller() principal: Principal): Promise<{ data: Organization[] }> {
    return { data: await this.accounts(principal).listOrganizations() };
  }

  @Post('organizations/:orgId/users')
  @HttpCode(201)
  @ApiOperation({ summary: 'Create a user with a role (member, curator, admin)' })
  @ApiZodBody(userSchema)
  createUser(@Caller() principal: Principal, @Param('orgId') orgId: string, @Body() body: unknown): Promise<User> {
    const { name, role } = parseInput(userSchema, body, 'body');
    return this.accounts(principal).createUser(orgId, name, role);
  }

  @Get('organizations/:orgId/users')
  @ApiOperation({ summary: "An organization's users" })
  async users(@Caller() principal: Principal, @Param('orgId') orgId: string): Promise<{ data: User[] }> {
    return { data: await this.accounts(principal).listUsers(orgId) };
  }

  @Post('users/:userId/keys')
  @HttpCode(201)
  @ApiOperation({ summary: 'Issue an API key for a user; the key is shown only in this answer' })
  @ApiZodBody(keySchema)
  createKey(@Caller() principal: Principal, @Param('userId') userId: string, @Body() body: unknown): Promise<{ id: string; key: string }> {
    const { label } = parseInput(keySchema, body ?? {}, 'body');
    return this.accounts(principal).createApiKey(userId, label);
  }

  @Delete('keys/:keyId')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke an API key' })
  async revokeKey(@Caller() principal: Principal, @Param('keyId') keyId: string): Promise<void> {
    await this.accounts(principal).revokeApiKey(keyId);
    // At once here; other replicas stop trusting it within the cache's lifetime.
    this.authenticator.forget(keyId);
  }

  private accounts(principal: Principal): AccountsAdministration {
    if (principal.role !== 'admin') throw new DomainError('FORBIDDEN', 'only an admin administers the installation');
    if (!this.deps.accounts) throw new DomainError('SERVICE_UNAVAILABLE', 'account administration is not configured here');
    return this.deps.accounts;
  }
}
