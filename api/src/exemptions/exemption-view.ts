import { ApiProperty, ApiSchema } from '@nestjs/swagger';

export const EXEMPTION_STATUSES = ['pending', 'approved', 'denied', 'cancelled', 'revoked', 'expired'] as const;
export type ExemptionStatus = (typeof EXEMPTION_STATUSES)[number];

@ApiSchema({ name: 'ExemptionApp' })
export class ExemptionAppRef {
  @ApiProperty({ type: 'string', description: 'Catalog slug' })
  slug: string;

  @ApiProperty({ type: 'string' })
  name: string;
}

@ApiSchema({ name: 'ExemptionAgent' })
export class ExemptionAgentRef {
  @ApiProperty({ type: 'string', format: 'uuid' })
  id: string;

  @ApiProperty({ type: 'string' })
  displayName: string;

  @ApiProperty({ type: 'string', format: 'email' })
  email: string;
}

/** A device or a decider: who or what, by id and name. */
@ApiSchema({ name: 'NamedRef' })
export class NamedRef {
  @ApiProperty({ type: 'string', format: 'uuid' })
  id: string;

  @ApiProperty({ type: 'string' })
  displayName: string;
}

/** An exemption request as the API shows it (the response schema of every exemption route). */
@ApiSchema({
  name: 'Exemption',
  description: 'An exemption request: who, what, which device, decided by whom, valid when.',
})
export class ExemptionView {
  @ApiProperty({ type: 'string', format: 'uuid' })
  id: string;

  @ApiProperty({ enum: [...EXEMPTION_STATUSES], enumName: 'ExemptionStatus' })
  status: ExemptionStatus;

  @ApiProperty({ type: 'string' })
  ministry: string;

  @ApiProperty({ type: () => ExemptionAppRef })
  app: ExemptionAppRef;

  @ApiProperty({ type: () => ExemptionAgentRef })
  agent: ExemptionAgentRef;

  @ApiProperty({ type: () => NamedRef, nullable: true, description: 'null: all the agent’s devices' })
  device: NamedRef | null;

  @ApiProperty({ type: 'string' })
  justification: string;

  @ApiProperty({ type: 'integer' })
  requestedDays: number;

  @ApiProperty({ type: 'string', format: 'date-time' })
  requestedAt: Date;

  @ApiProperty({ type: () => NamedRef, nullable: true })
  decidedBy: NamedRef | null;

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  decidedAt: Date | null;

  @ApiProperty({ type: 'string', nullable: true })
  decisionReason: string | null;

  @ApiProperty({ type: 'integer', nullable: true, description: 'Possibly shorter than requested' })
  approvedDays: number | null;

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  validFrom: Date | null;

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  validUntil: Date | null;

  @ApiProperty({ type: 'string', format: 'uuid', nullable: true, description: 'The exemption this request renews' })
  renewalOf: string | null;
}

/** One query shape for every exemption list: the request with who, what, which device, decided by whom. */
export const EXEMPTION_VIEW_SQL = `
  SELECT e.id, e.status, e.ministry_code, e.app_slug, app.name AS app_name,
         a.id AS agent_id, trim(a.given_name || ' ' || a.usual_name) AS agent_name, a.email AS agent_email,
         d.id AS device_id, d.display_name AS device_name,
         e.justification, e.requested_days, e.requested_at,
         dec.id AS decider_id, trim(dec.given_name || ' ' || dec.usual_name) AS decider_name,
         e.decided_at, e.decision_reason, e.approved_days, e.valid_from, e.valid_until, e.renewal_of
    FROM exemption e
    JOIN agent a ON a.id = e.agent_id
    JOIN app ON app.slug = e.app_slug
    LEFT JOIN device d ON d.id = e.device_id
    LEFT JOIN agent dec ON dec.id = e.decided_by`;

export interface ExemptionViewRow {
  id: string;
  status: ExemptionStatus;
  ministry_code: string;
  app_slug: string;
  app_name: string;
  agent_id: string;
  agent_name: string;
  agent_email: string;
  device_id: string | null;
  device_name: string | null;
  justification: string;
  requested_days: number;
  requested_at: Date;
  decider_id: string | null;
  decider_name: string | null;
  decided_at: Date | null;
  decision_reason: string | null;
  approved_days: number | null;
  valid_from: Date | null;
  valid_until: Date | null;
  renewal_of: string | null;
}

export function toView(r: ExemptionViewRow): ExemptionView {
  return {
    id: r.id,
    status: r.status,
    ministry: r.ministry_code,
    app: { slug: r.app_slug, name: r.app_name },
    agent: { id: r.agent_id, displayName: r.agent_name || r.agent_email, email: r.agent_email },
    device: r.device_id ? { id: r.device_id, displayName: r.device_name ?? '' } : null,
    justification: r.justification,
    requestedDays: r.requested_days,
    requestedAt: r.requested_at,
    decidedBy: r.decider_id ? { id: r.decider_id, displayName: r.decider_name ?? '' } : null,
    decidedAt: r.decided_at,
    decisionReason: r.decision_reason,
    approvedDays: r.approved_days,
    validFrom: r.valid_from,
    validUntil: r.valid_until,
    renewalOf: r.renewal_of,
  };
}
