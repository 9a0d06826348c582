import { ApiBody, ApiQuery, DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { z } from 'zod';

type ApiBodyOptions = Parameters<typeof ApiBody>[0];
type ApiQueryOptions = Parameters<typeof ApiQuery>[0];

/** OpenAPI 3.0 schema of a zod schema: the one that validates the request documents it. */
export const openApiSchema = (schema: z.ZodType): Record<string, unknown> =>
  z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;

export const ApiZodBody = (schema: z.ZodType, description?: string): MethodDecorator =>
  ApiBody({ schema: openApiSchema(schema), ...(description ? { description } : {}) } as ApiBodyOptions);

/** One documented query parameter per property of a zod object schema. */
export const ApiZodQuery = (schema: z.ZodObject): MethodDecorator => {
  const decorators = Object.entries(schema.shape).map(([name, property]) =>
    ApiQuery({ name, required: false, schema: openApiSchema(property as z.ZodType) } as ApiQueryOptions),
  );
  return (target, key, descriptor) => {
    for (const decorate of decorators) decorate(target, key, descriptor);
  };
};

export const OPENAPI_JSON_PATH = 'v1/openapi.json';
export const DOCS_PATH = 'docs';

/** The OpenAPI document at `/v1/openapi.json` and Swagger UI at `/docs`, both public. */
export function serveOpenApi(app: NestFastifyApplication): void {
  const config = new DocumentBuilder()
    .setTitle('Switchyard')
    .setDescription('Asynchronous jobs: the unified /v1 API and the print dialect (print-jobs.txt).')
    .setVersion('1')
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key' }, 'api-key')
    .addBearerAuth({ type: 'http', scheme: 'bearer' }, 'bearer')
    .build();
  SwaggerModule.setup(DOCS_PATH, app, () => SwaggerModule.createDocument(app, config), {
    jsonDocumentUrl: OPENAPI_JSON_PATH,
    raw: ['json'],
  });
}
