import { Badge } from '@codegouvfr/react-dsfr/Badge';
import { COMPLIANCE_LABELS, ROLLOUT_STATUS_LABELS, STATUS_LABELS } from '../labels';
import type { Compliance, ExemptionStatus, RolloutStatus } from '../types';

type Severity = 'success' | 'error' | 'warning' | 'info' | 'new' | undefined;

const EXEMPTION_SEVERITY: Record<ExemptionStatus, Severity> = {
  pending: 'new',
  approved: 'success',
  denied: 'error',
  cancelled: undefined,
  revoked: 'warning',
  expired: undefined,
};

export function ExemptionStatusBadge({ status }: { status: ExemptionStatus }) {
  return (
    <Badge small severity={EXEMPTION_SEVERITY[status]}>
      {STATUS_LABELS[status]}
    </Badge>
  );
}

const COMPLIANCE_SEVERITY: Record<Compliance, Severity> = {
  compliant: 'success',
  'non-compliant': 'error',
  unknown: undefined,
  stale: 'warning',
};

export function ComplianceBadge({ compliance }: { compliance: Compliance }) {
  return (
    <Badge small severity={COMPLIANCE_SEVERITY[compliance]}>
      {COMPLIANCE_LABELS[compliance]}
    </Badge>
  );
}

const ROLLOUT_SEVERITY: Record<RolloutStatus, Severity> = {
  preparing: 'new',
  running: 'info',
  paused: 'warning',
  completed: 'success',
  aborted: 'error',
  // Ended by a newer change of the same policy (a rollback or another change): nothing to do.
  superseded: undefined,
};

export function RolloutStatusBadge({ status }: { status: RolloutStatus }) {
  return (
    <Badge small severity={ROLLOUT_SEVERITY[status]}>
      {ROLLOUT_STATUS_LABELS[status]}
    </Badge>
  );
}
