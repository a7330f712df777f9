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
  summaryRefusal,
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
export {
  cpuTimeEnergyUj,
  EnergyError,
  type EnergyMeasurement,
  type EnergySource,
  type PowerProfile,
  powerProfile,
  raplDeltaUj,
  raplEnergyUj,
  type RaplSample,
  SOURCE_CPU_TIME,
  SOURCE_NONE,
  SOURCE_RAPL,
  ujToMj,
} from "./energy.ts";
export {
  attestationBytes,
  describeAttestation,
  type EnergyAttestation,
  energyAttestation,
  type EnergyBaseline,
  energyBaselineSchema,
  type EnergyRecord,
  signAttestation,
  type SignedAttestation,
  verifyAttestation,
} from "./attestation.ts";
export {
  EnergyMeter,
  type EnergySpan,
  POWERCAP_ROOT,
  type PowerSource,
  resolvePowerProfile,
  sysfsPowerSource,
} from "./meter.ts";
export { type RequestEnergy, withEnergy } from "./metered-gate.ts";
