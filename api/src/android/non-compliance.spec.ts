import { appliesTo, isViolation, policyErrorsOf } from './non-compliance';

describe('AMAPI non-compliance details', () => {
  const personalSide = { settingName: 'personalUsagePolicies', nonComplianceReason: 'MANAGEMENT_MODE' };

  it('does not count MANAGEMENT_MODE against a personally owned phone (the policy reaches its work profile only)', () => {
    expect(isViolation(personalSide, 'personal')).toBe(false);
    expect(policyErrorsOf([personalSide], 'personal')).toEqual([]);
    // Nor as a failed push: the rollout counts only what applies to the phone.
    expect(appliesTo(personalSide, 'personal')).toBe(false);
    expect(appliesTo(personalSide, 'company')).toBe(true);
  });

  it('counts MANAGEMENT_MODE on a company-owned phone: the setting should have applied there', () => {
    expect(isViolation(personalSide, 'company')).toBe(true);
    expect(policyErrorsOf([personalSide], 'company')).toEqual(['personalUsagePolicies: MANAGEMENT_MODE']);
  });

  it('ignores pending settings and app presence (judged from the inventory), keeps real errors once', () => {
    const details = [
      { settingName: 'applications', packageName: 'com.zhiliaoapp.musically', nonComplianceReason: 'APP_INSTALLED' },
      { settingName: 'applications', packageName: 'fr.gouv.tchap.a', nonComplianceReason: 'APP_NOT_INSTALLED' },
      { settingName: 'cameraDisabled', nonComplianceReason: 'PENDING' },
      { settingName: 'passwordPolicies', nonComplianceReason: 'API_LEVEL' },
      { settingName: 'passwordPolicies', nonComplianceReason: 'API_LEVEL' },
      { settingName: 'applications', packageName: 'fr.gouv.tchap.a', nonComplianceReason: 'APP_INCOMPATIBLE' },
    ];
    for (const ownership of ['company', 'personal'] as const) {
      expect(policyErrorsOf(details, ownership)).toEqual([
        'passwordPolicies: API_LEVEL',
        'applications (fr.gouv.tchap.a): APP_INCOMPATIBLE',
      ]);
    }
    expect(policyErrorsOf(undefined, 'company')).toEqual([]);
  });
});
