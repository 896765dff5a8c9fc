import { Body, Controller, Get, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal } from '../auth/public.decorator';
import { Principal } from '../auth/principal';
import { CatalogService } from './catalog.service';

@ApiTags('catalog')
@ApiBearerAuth()
@Controller('catalog/apps')
export class CatalogController {
  constructor(private readonly catalog: CatalogService) {}

  @Get()
  list(@CurrentPrincipal() principal: Principal, @Query('category') category?: string, @Query('q') q?: string) {
    return this.catalog.list(principal, { category, q });
  }

  @Get(':slug')
  get(@CurrentPrincipal() principal: Principal, @Param('slug') slug: string) {
    return this.catalog.get(principal, slug);
  }

  @Post()
  create(@CurrentPrincipal() principal: Principal, @Body() body: unknown) {
    return this.catalog.create(principal, body);
  }
}
