// Who is signed in, and the outbox's link to the real API.

import { api, getMe, OfflineError, ApiError, uploadEvidence, type Me, type CaseBody, type Evidence, type Page, type TimelineEvent } from "./api";
import { cacheGet, cachePut, clearCache, flush, setOutboxOwner, type OutboxItem, type Transport } from "./outbox";
import { signal } from "./signal";

export const me = signal<Me | null | undefined>(undefined);
me.subscribe((user) => setOutboxOwner(user?.id));
export const online = signal(typeof navigator === "undefined" ? true : navigator.onLine);

/** Load the signed-in user: the device's copy at once (a warm start on a weak line shows the
 * cases without waiting), then the server's answer, which signs out a revoked session. */
export async function loadMe(): Promise<void> {
  const saved = await cacheGet<Me>("me").catch(() => undefined);
  if (saved && me.get() === undefined) me.set(saved);
  try {
    const user = await getMe();
    await cachePut("me", user);
    me.set(user);
  } catch (error) {
    if (error instanceof OfflineError) me.set(saved ?? null);
    else if (error instanceof ApiError && error.status === 401) {
      await clearCache(); // the session ended elsewhere; the outbox waits for the next sign-in
      me.set(null);
    }
    else throw error;
  }
}

export const transport: Transport = {
  createCase: (body: CaseBody) => api("/api/v1/cases", "POST", body),
  addEvent: (caseId, body) => api(`/api/v1/cases/${caseId}/events`, "POST", body),
  listEvents: async (caseId) =>
    (await api<Page<TimelineEvent>>(`/api/v1/cases/${caseId}/events?limit=500`)).items,
  listEvidence: async (caseId) =>
    (await api<Page<Evidence>>(`/api/v1/cases/${caseId}/evidence?limit=500`)).items,
  uploadEvidence: (item: OutboxItem) =>
    uploadEvidence(
      item.caseId,
      new Blob([item.bytes as ArrayBuffer], { type: item.mediaType }),
      {
        kind: item.evidenceKind ?? "photo",
        filename: item.filename ?? "file",
        sha256: item.sha256 as string,
      },
    ),
};

/** Send the outbox now (when the connection returns, at start, or on request). */
export function sendOutbox(): Promise<number> {
  return flush(transport).catch(() => 0);
}

if (typeof window !== "undefined") {
  window.addEventListener("online", () => {
    online.set(true);
    void sendOutbox();
  });
  window.addEventListener("offline", () => online.set(false));
}
