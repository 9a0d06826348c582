import { Inject, Injectable, SetMetadata, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { IncomingHttpHeaders } from 'node:http';
import { CachedAuthenticator } from '@switchyard/accounts';
import { DomainError } from '@switchyard/contracts';
import type { GatewayRequest } from './request-context';

const PUBLIC_ROUTE = 'switchyard:public-route';

/** A route anyone may call without a key (probes, metrics). */
export const PublicRoute = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC_ROUTE, true);

const single = (value: string | string[] | undefined): string | undefined => {
  const first = Array.isArray(value) ? value[0] : value;
  const trimmed = first?.trim();
  return trimmed ? trimmed : undefined;
};

/** The key in whichever header the caller's dialect uses: X-API-Key, Authorization: Bearer, x-access-token. */
export function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(single(headers.authorization) ?? '')?.[1];
  return single(headers['x-api-key']) ?? bearer ?? single(headers['x-access-token']);
}

/** Every route needs a key that resolves to a principal, unless marked public. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(CachedAuthenticator) private readonly authenticator: CachedAuthenticator,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, [context.getHandler(), context.getClass()])) return true;
    const request = context.switchToHttp().getRequest<GatewayRequest>();
    const key = presentedKey(request.headers);
    if (key === undefined) {
      throw new DomainError('UNAUTHORIZED', 'an API key is required: X-API-Key, Authorization: Bearer or x-access-token');
    }
    const principal = await this.authenticator.principalFor(key);
    if (!principal) throw new DomainError('UNAUTHORIZED', 'the API key is not valid');
    request.principal = principal;
    return true;
  }
}
