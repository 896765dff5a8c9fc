/**
 * The observatory's calls, through the client generated from the API's OpenAPI document
 * (admin-ui/src/client/, `npm run openapi`): parameters and answers are the API's own types. The
 * client's configuration (session cookie, CSRF header, errors thrown as French `ApiError`s) is set
 * once by ../../api, imported here for that.
 */
import '../../api';
import {
  complianceApps,
  complianceExemptions,
  complianceMinistry,
  complianceNational,
  complianceTrend,
} from '../../client';
import { client } from '../../client/client.gen';
import type { ComplianceExportCsvData, ComplianceExportJsonData, ComplianceState } from '../../client';

const throwOnError = true;

async function data<T>(call: Promise<{ data: T }>): Promise<T> {
  return (await call).data;
}

export type ExportDataset = ComplianceExportCsvData['query']['dataset'];

export const complianceApi = {
  /** Every ministry (national admins). */
  national: () => data(complianceNational({ throwOnError })),
  /** One ministry's figures and a page of its phones (default: non-compliant and unknown). */
  ministry: (code: string, page: { state?: ComplianceState; limit: number; offset: number }) =>
    data(complianceMinistry({ path: { code }, query: page, throwOnError })),
  /** Banned apps still installed, most phones first (one ministry, or all). */
  apps: (ministry?: string) => data(complianceApps({ query: ministry ? { ministry } : {}, throwOnError })),
  /** Daily snapshots from `from` to `to` (YYYY-MM-DD): all ministries together then each, or one ministry. */
  trend: (from: string, to: string, ministry?: string) =>
    data(complianceTrend({ query: { from, to, ...(ministry ? { ministry } : {}) }, throwOnError })),
  /** The national register of active exemptions, counted (national admins). */
  exemptions: () => data(complianceExemptions({ throwOnError })),
};

/** Where the browser downloads an export (the session cookie goes along with a plain link). */
export function exportUrl(format: 'csv' | 'json', dataset: ExportDataset, ministry?: string): string {
  const query = { dataset, ...(ministry ? { ministry } : {}) };
  return format === 'csv'
    ? client.buildUrl<ComplianceExportCsvData>({ url: '/compliance/export.csv', query })
    : client.buildUrl<ComplianceExportJsonData>({ url: '/compliance/export.json', query });
}
