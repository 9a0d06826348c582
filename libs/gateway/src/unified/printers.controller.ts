import { Body, Controller, Get, HttpCode, Inject, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { registerPrinterSchema, type Principal, type PrinterView } from '@switchyard/contracts';
import { GATEWAY_DEPS, type GatewayDeps } from '../gateway-deps';
import { Caller, CorrelationId } from '../http/request-context';
import { parseInput } from '../http/validation';
import { SERVICE_FOR_KIND } from '../job-access';
import { ApiZodBody } from '../openapi';

/** An organization's printers: curators register them, print targets pick among them. */
@ApiTags('printers')
@ApiSecurity('api-key')
@ApiBearerAuth('bearer')
@Controller('v1/printers')
export class PrintersController {
  constructor(@Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Register a printer (curators and admins)' })
  @ApiZodBody(registerPrinterSchema)
  async register(
    @Body() body: unknown,
    @Caller() principal: Principal,
    @CorrelationId() correlationId: string,
  ): Promise<PrinterView> {
    const printer = parseInput(registerPrinterSchema, body, 'body');
    return this.deps.commands.send<PrinterView>(SERVICE_FOR_KIND.print, 'register-printer', {
      principal,
      correlationId,
      payload: printer,
    });
  }

  @Get()
  @ApiOperation({ summary: "The organization's printers" })
  async list(@Caller() principal: Principal, @CorrelationId() correlationId: string): Promise<{ data: PrinterView[] }> {
    const printers = await this.deps.commands.send<PrinterView[]>(SERVICE_FOR_KIND.print, 'list-printers', {
      principal,
      correlationId,
      payload: {},
    });
    return { data: printers };
  }
}
