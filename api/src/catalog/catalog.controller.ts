import { Body, Controller, Get, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiCreatedResponse, ApiOkResponse, ApiQuery, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal } from '../auth/public.decorator';
import { Principal } from '../auth/principal';
import { ApiErrors } from '../openapi/api-errors.decorator';
import { APP_CATEGORIES } from '../policies/policy.types';
import { CatalogAppDto } from './catalog.responses';
import { CatalogService } from './catalog.service';

@ApiTags('catalog')
@ApiBearerAuth()
@ApiErrors('catalog')
@Controller('catalog/apps')
export class CatalogController {
  constructor(private readonly catalog: CatalogService) {}

  @Get()
  @ApiQuery({ name: 'category', required: false, enum: [...APP_CATEGORIES], enumName: 'AppCategory' })
  @ApiQuery({ name: 'q', type: 'string', required: false, description: 'Part of the slug or the name' })
  @ApiOkResponse({ type: [CatalogAppDto] })
  list(
    @CurrentPrincipal() principal: Principal,
    @Query('category') category?: string,
    @Query('q') q?: string,
  ): Promise<CatalogAppDto[]> {
    return this.catalog.list(principal, { category, q });
  }

  @Get(':slug')
  @ApiOkResponse({ type: CatalogAppDto })
  get(@CurrentPrincipal() principal: Principal, @Param('slug') slug: string): Promise<CatalogAppDto> {
    return this.catalog.get(principal, slug);
  }

  @Post()
  @ApiBody({ type: CatalogAppDto, description: 'Validated against the catalog file schema of policy as code' })
  @ApiCreatedResponse({ type: CatalogAppDto })
  create(@CurrentPrincipal() principal: Principal, @Body() body: unknown): Promise<CatalogAppDto> {
    return this.catalog.create(principal, body);
  }
}
