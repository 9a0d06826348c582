import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { TEST_BACKENDS } from '@switchyard/event-store/testing';
import { AccountsStore } from '@switchyard/accounts';
import { call, createGatewayHarness, type GatewayHarness } from '../testing/gateway-harness';

describe.each(TEST_BACKENDS)('admin routes on %s', (backend) => {
  let harness: GatewayHarness;
  let app: NestFastifyApplication;
  let adminKey: string;

  beforeAll(async () => {
    harness = await createGatewayHarness(backend, 'gateway_admin');
    // The real accounts store authenticates and administers, as in both apps.
    const accounts = new AccountsStore(harness.database.db as never);
    adminKey = accounts.generateBootstrapKey();
    await accounts.ensureBootstrapAdmin(adminKey);
    app = await harness.app({ accounts, authenticate: (key) => accounts.authenticate(key) });
  });
  afterAll(() => harness.dispose());

  it('creates an organization, a curator and a key that then works, and revokes it', async () => {
    const org = await call(app, 'POST', '/v1/admin/organizations', { key: adminKey, body: { name: 'acme' } });
    expect(org.status).toBe(201);
    expect(org.body).toMatchObject({ name: 'acme', id: expect.any(String) });
    const user = await call(app, 'POST', `/v1/admin/organizations/${org.body.id}/users`, { key: adminKey, body: { name: 'carol', role: 'curator' } });
    expect(user.status).toBe(201);
    const issued = await call(app, 'POST', `/v1/admin/users/${user.body.id}/keys`, { key: adminKey, body: { label: 'ci' } });
    expect(issued.status).toBe(201);
    const carolKey = issued.body.key as string;

    // Carol's key works, in her organization, and is not an admin's.
    expect((await call(app, 'GET', '/v1/jobs', { key: carolKey })).status).toBe(200);
    expect((await call(app, 'GET', '/v1/admin/organizations', { key: carolKey })).status).toBe(403);
    const users = await call(app, 'GET', `/v1/admin/organizations/${org.body.id}/users`, { key: adminKey });
    expect(users.body.data.map((u: { name: string }) => u.name)).toEqual(['carol']);
    expect((await call(app, 'GET', '/v1/admin/organizations', { key: adminKey })).body.data.map((o: { name: string }) => o.name)).toEqual(
      expect.arrayContaining(['default', 'acme']),
    );

    expect((await call(app, 'DELETE', `/v1/admin/keys/${issued.body.id}`, { key: adminKey })).status).toBe(204);
    expect((await call(app, 'GET', '/v1/jobs', { key: carolKey })).status).toBe(401);
  });

  it('refuses bad input with a code, and everyone but an admin', async () => {
    const bad = await call(app, 'POST', '/v1/admin/organizations', { key: adminKey, body: { name: '' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION_FAILED');
    const role = await call(app, 'POST', '/v1/admin/organizations/org_x/users', { key: adminKey, body: { name: 'x', role: 'owner' } });
    expect(role.status).toBe(400);
    expect((await call(app, 'POST', '/v1/admin/organizations', { body: { name: 'nokey' } })).status).toBe(401);
  });
});
