// The public API, as the pages use it: same origin, the session cookie, the CSRF header.

export const CSRF_HEADER = "X-EJ-Web";

export interface Problem {
  type?: string;
  title: string;
  status: number;
  detail: string;
  errors?: { loc: (string | number)[]; msg: string }[];
}

/** An answer other than 2xx, carrying the RFC 9457 problem. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(problem.detail || problem.title);
  }
}

/** The network failed (offline, server unreachable): the request never got an answer. */
export class OfflineError extends Error {}

export interface Me {
  id: string;
  email: string;
  name: string;
  role: "paralegal" | "org_admin" | "coordinator" | "campaigner" | "admin";
  organization_id: string;
}

export interface Respondent {
  name: string;
  kind: "company" | "government_agency" | "other";
  actor_id?: string;
  actor_name?: string;
}

export interface CaseBody {
  id?: string;
  title: string;
  summary: string;
  issue_types: string[];
  status?: string;
  sensitivity: "normal" | "sensitive" | "high_risk";
  geometry: GeoJSON.Geometry;
  location_precision: "exact" | "approximate" | "area";
  place_name: string | null;
  country: string;
  people_affected: number | null;
  respondents: Respondent[];
  opened_on: string | null;
}

export interface Case extends CaseBody {
  id: string;
  reference: string;
  organization_id: string;
  status: string;
  generalized: boolean;
  area_m2: number | null;
  centroid: GeoJSON.Point;
  version: number;
  created_at: string;
  updated_at: string;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface TimelineEvent {
  id: string;
  kind: string;
  occurred_on: string;
  description: string;
  remedy: string | null;
  outcome: string | null;
  due_on: string | null;
  details: Record<string, unknown>;
  created_at: string;
}

export interface Evidence {
  id: string;
  case_id: string;
  sha256: string;
  size: number;
  media_type: string;
  kind: string;
  original_filename: string | null;
  received_at: string;
}

async function problemOf(response: Response): Promise<Problem> {
  try {
    return (await response.json()) as Problem;
  } catch {
    return { title: response.statusText, status: response.status, detail: response.statusText };
  }
}

/** Fetch from the API; throws ApiError for a problem and OfflineError when the network fails. */
export async function request(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set(CSRF_HEADER, "1");
  if (!headers.has("Accept")) headers.set("Accept", "application/json");
  let response: Response;
  try {
    response = await fetch(path, { ...init, headers, credentials: "same-origin" });
  } catch (error) {
    throw new OfflineError(String(error));
  }
  if (!response.ok) throw new ApiError(response.status, await problemOf(response));
  return response;
}

/** GET or send JSON and read JSON back. */
export async function api<T>(path: string, method = "GET", body?: unknown, headers?: HeadersInit): Promise<T> {
  const init: RequestInit = { method, headers: new Headers(headers) };
  if (body !== undefined) {
    (init.headers as Headers).set("Content-Type", "application/json");
    init.body = JSON.stringify(body);
  }
  const response = await request(path, init);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

/** Query string from the set values of a filter object. */
export function query(params: Record<string, string | number | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") q.set(key, String(value));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

export async function signIn(email: string, password: string): Promise<Me> {
  const form = new URLSearchParams({ username: email, password });
  const response = await request("/api/v1/auth/session", { method: "POST", body: form });
  return (await response.json()) as Me;
}

export const signOut = (): Promise<void> => api<void>("/api/v1/auth/session", "DELETE");
export const getMe = (): Promise<Me> => api<Me>("/api/v1/me");

/** Upload one file with progress (fetch has no upload progress; XMLHttpRequest does). */
export function uploadEvidence(
  caseId: string,
  file: Blob,
  fields: { kind: string; filename: string; sha256: string; description?: string; captured_at?: string },
  onProgress?: (fraction: number) => void,
): Promise<Evidence> {
  const form = new FormData();
  form.set("kind", fields.kind);
  form.set("sha256", fields.sha256);
  if (fields.description) form.set("description", fields.description);
  if (fields.captured_at) form.set("captured_at", fields.captured_at);
  form.set("file", file, fields.filename);
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/api/v1/cases/${caseId}/evidence`);
    xhr.setRequestHeader(CSRF_HEADER, "1");
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && onProgress) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => {
      let body: unknown;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = { title: xhr.statusText, status: xhr.status, detail: xhr.statusText };
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body as Evidence);
      else reject(new ApiError(xhr.status, body as Problem));
    };
    xhr.onerror = () => reject(new OfflineError("upload failed"));
    xhr.send(form);
  });
}
