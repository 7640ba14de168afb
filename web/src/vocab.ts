// The case vocabularies the forms offer.

import { api, OfflineError } from "./api";
import { cacheGet, cachePut } from "./outbox";

export const STATUSES = ["intake", "investigation", "action", "resolved", "closed", "dormant"];
export const SENSITIVITIES = ["normal", "sensitive", "high_risk"] as const;
export const PRECISIONS = ["exact", "approximate", "area"] as const;
export const EVENT_KINDS = ["status_change", "note", "action", "remedy", "outcome", "deadline"];
export const REMEDIES = [
  "administrative_complaint",
  "negotiation",
  "mediation",
  "litigation",
  "media",
  "protest",
  "policy_advocacy",
];
export const OUTCOMES = ["obtained", "partial", "denied", "pending"];
export const EVIDENCE_KINDS = ["photo", "document", "audio", "video", "testimony", "data", "other"];
export const ISSUE_TYPES = [
  "land_grab",
  "deforestation",
  "mining",
  "oil_gas",
  "water_pollution",
  "air_pollution",
  "soil_contamination",
  "waste_dumping",
  "water_access",
  "fisheries",
  "agribusiness",
  "infrastructure",
  "conservation_conflict",
  "climate_displacement",
  "other",
];

/** The issue types in use (the coordinators' vocabulary), cached for offline forms. */
export async function issueTypes(): Promise<string[]> {
  try {
    const items = await api<{ code: string; active: boolean }[]>("/api/v1/issue-types");
    const codes = items.filter((i) => i.active).map((i) => i.code);
    await cachePut("issue-types", codes);
    return codes;
  } catch (error) {
    if (error instanceof OfflineError) return (await cacheGet<string[]>("issue-types")) ?? ISSUE_TYPES;
    throw error;
  }
}
