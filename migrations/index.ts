import { PolicyCore1732370000000 } from './1732370000000-PolicyCore';
import { ExemptionsNotificationsJobs1732370000001 } from './1732370000001-ExemptionsNotificationsJobs';
import { RolloutEngine1732370000002 } from './1732370000002-RolloutEngine';
import { AndroidEnterprise1732370000003 } from './1732370000003-AndroidEnterprise';
import { AppleMdm1732370000004 } from './1732370000004-AppleMdm';
import { Sessions1732370000005 } from './1732370000005-Sessions';
import { AuditGrants1732370000006 } from './1732370000006-AuditGrants';
import { ComplianceReadModel1796083200000 } from './1796083200000-ComplianceReadModel';
import { RateLimits1796093320000 } from './1796093320000-RateLimits';
import { EnrollmentLinks1796093323000 } from './1796093323000-EnrollmentLinks';
import { ProConnectIdentity1796093417000 } from './1796093417000-ProConnectIdentity';
import { AuditKeyedChain1796093420000 } from './1796093420000-AuditKeyedChain';
import { RateLimitsUnlogged1796093423000 } from './1796093423000-RateLimitsUnlogged';
import { AppleIdentityEnrolledAt1796093426000 } from './1796093426000-AppleIdentityEnrolledAt';
import { RateLimitFunction1796093429000 } from './1796093429000-RateLimitFunction';
import { MeaningfulRetries1796100100000 } from './1796100100000-MeaningfulRetries';
import { AndroidEnterpriseSetup1796100000000 } from './1796100000000-AndroidEnterpriseSetup';
import { AndroidReportTime1796100200000 } from './1796100200000-AndroidReportTime';
import { AndroidPolicyCleanup1796100300000 } from './1796100300000-AndroidPolicyCleanup';
import { DeviceBoundPolicyIndex1796100300001 } from './1796100300001-DeviceBoundPolicyIndex';
import { AppleAdeVpp1796100600000 } from './1796100600000-AppleAdeVpp';
import { AppleCommandHygiene1796100700000 } from './1796100700000-AppleCommandHygiene';
import { DeviceInventoryIndex1796100700001 } from './1796100700001-DeviceInventoryIndex';
import { RolloutSuperseded1796100800000 } from './1796100800000-RolloutSuperseded';
import { ListSearchIndexes1796100900000 } from './1796100900000-ListSearchIndexes';
import { AppleScep1796101000000 } from './1796101000000-AppleScep';
import { AppleIdentityRenewal1796101100000 } from './1796101100000-AppleIdentityRenewal';
import { AppleBusinessSync1796101200000 } from './1796101200000-AppleBusinessSync';
import { DeviceSearchIndexes1796101400000 } from './1796101400000-DeviceSearchIndexes';
import { AppleScepRenewal1796101500000 } from './1796101500000-AppleScepRenewal';

/** Every migration, in order; imported by the shared data source (app, CLI and tests alike). */
export const MIGRATIONS = [
  PolicyCore1732370000000,
  ExemptionsNotificationsJobs1732370000001,
  RolloutEngine1732370000002,
  AndroidEnterprise1732370000003,
  AppleMdm1732370000004,
  Sessions1732370000005,
  AuditGrants1732370000006,
  ComplianceReadModel1796083200000,
  RateLimits1796093320000,
  EnrollmentLinks1796093323000,
  ProConnectIdentity1796093417000,
  AuditKeyedChain1796093420000,
  RateLimitsUnlogged1796093423000,
  AppleIdentityEnrolledAt1796093426000,
  RateLimitFunction1796093429000,
  AndroidEnterpriseSetup1796100000000,
  MeaningfulRetries1796100100000,
  AndroidReportTime1796100200000,
  AndroidPolicyCleanup1796100300000,
  DeviceBoundPolicyIndex1796100300001,
  AppleAdeVpp1796100600000,
  AppleCommandHygiene1796100700000,
  DeviceInventoryIndex1796100700001,
  RolloutSuperseded1796100800000,
  ListSearchIndexes1796100900000,
  AppleScep1796101000000,
  AppleIdentityRenewal1796101100000,
  AppleBusinessSync1796101200000,
  DeviceSearchIndexes1796101400000,
  AppleScepRenewal1796101500000,
];
