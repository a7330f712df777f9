/**
 * @module Consent contracts and Proof of Sobriety: what the rest of ARIA uses from src/consent/.
 * Policy (schema, hash, signed envelope), its evaluation and enforcement (PolicyGate), the policy
 * file, the "policy changed" event for the ledger, and energy accounting (energy.ts, meter.ts).
 */
export {
  canonicalPolicy,
  type ConsentPolicy,
  ConsentPolicyError,
  consentPolicySchema,
  defaultPolicy,
  type HostFacts,
  parsePolicy,
  policyBytes,
  policyHash,
  type ScheduleWindow,
  type SignedPolicy,
  signPolicy,
  TASK_KINDS,
  type TaskKind,
  verifySignedPolicy,
  WEEKDAYS,
} from "./policy.ts";
export {
  type ConsentDecision,
  type ConsentRequest,
  type ConsentUsage,
  engineThreads,
  evaluateConsent,
  modelMemoryDenial,
  type PolicySummary,
  policySummary,
  utcDay,
} from "./evaluate.ts";
export { type ConsentTicket, PolicyGate } from "./gate.ts";
export {
  policyChangedBytes,
  type PolicyChangedEvent,
  policyChangedEvent,
  verifyPolicyChangedEvent,
} from "./events.ts";
export { applySetting, formatPolicy, SETTING_KEYS } from "./settings.ts";
export {
  CONSENT_FILE,
  consentPath,
  hostFacts,
  loadOrCreatePolicy,
  type PolicyState,
  readPolicy,
  savePolicy,
} from "./store.ts";
