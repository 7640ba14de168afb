// The outbox: what was recorded without a connection waits here (IndexedDB) until it is sent.
// Every case carries its client-made UUID, so sending twice makes one case; a file is checked
// against the server's list by its SHA-256 before a retry, so it is never stored twice.

import { openDB, type DBSchema, type IDBPDatabase } from "idb";
import { ApiError, OfflineError, type CaseBody, type Evidence, type TimelineEvent } from "./api";

export type OutboxKind = "case" | "event" | "evidence";
export type OutboxState = "waiting" | "conflict" | "failed";

export interface OutboxItem {
  seq?: number;
  kind: OutboxKind;
  caseId: string;
  label: string;
  createdAt: string;
  state: OutboxState;
  attempts: number;
  error?: string;
  body?: CaseBody | Record<string, unknown>;
  bytes?: ArrayBuffer;
  mediaType?: string;
  filename?: string;
  sha256?: string;
  evidenceKind?: string;
  owner?: string; // the user who recorded it: only their session sends it
}

interface EjDB extends DBSchema {
  outbox: { key: number; value: OutboxItem };
  cache: { key: string; value: { key: string; value: unknown; savedAt: string } };
}

/** What flush() needs from the network; the pages pass the real API, tests a fake. */
export interface Transport {
  createCase(body: CaseBody): Promise<unknown>;
  addEvent(caseId: string, body: Record<string, unknown>): Promise<unknown>;
  listEvents(caseId: string): Promise<TimelineEvent[]>;
  uploadEvidence(item: OutboxItem): Promise<Evidence>;
  listEvidence(caseId: string): Promise<Evidence[]>;
}

let owner: string | undefined;
/** The signed-in user: what they record is theirs, and only theirs is sent. */
export function setOutboxOwner(userId: string | undefined): void {
  owner = userId;
}

let dbPromise: Promise<IDBPDatabase<EjDB>> | null = null;

function db(): Promise<IDBPDatabase<EjDB>> {
  dbPromise ??= openDB<EjDB>("ejcorps", 1, {
    upgrade(database) {
      database.createObjectStore("outbox", { keyPath: "seq", autoIncrement: true });
      database.createObjectStore("cache", { keyPath: "key" });
    },
  });
  return dbPromise;
}

const listeners = new Set<() => void>();
/** Call `fn` whenever the outbox changes; returns the unsubscribe function. */
export function onOutboxChange(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
function changed(): void {
  for (const fn of listeners) fn();
}

/** Put an item in the outbox. */
export async function enqueue(
  item: Omit<OutboxItem, "seq" | "state" | "attempts" | "createdAt">,
): Promise<void> {
  await (await db()).add("outbox", {
    ...item,
    owner,
    state: "waiting",
    attempts: 0,
    createdAt: new Date().toISOString(),
  });
  changed();
}

/** Everything in the outbox, oldest first. */
export async function pending(): Promise<OutboxItem[]> {
  return (await db()).getAll("outbox");
}

/** Drop one item (the user discarded a conflict or a refused item). */
export async function discard(seq: number): Promise<void> {
  await (await db()).delete("outbox", seq);
  changed();
}

async function alreadySent(item: OutboxItem, transport: Transport): Promise<boolean> {
  if (item.kind === "evidence") {
    return (await transport.listEvidence(item.caseId)).some((e) => e.sha256 === item.sha256);
  }
  if (item.kind === "event") {
    const body = item.body as Record<string, unknown>;
    return (await transport.listEvents(item.caseId)).some(
      (e) =>
        e.kind === body.kind && e.occurred_on === body.occurred_on && e.description === body.description,
    );
  }
  return false; // a case replays safely: same id and body is answered 200
}

async function send(item: OutboxItem, transport: Transport): Promise<void> {
  if (item.attempts > 1 && (await alreadySent(item, transport))) return;
  if (item.kind === "case") await transport.createCase(item.body as CaseBody);
  else if (item.kind === "event") await transport.addEvent(item.caseId, item.body as Record<string, unknown>);
  else await transport.uploadEvidence(item);
}

let flushing: Promise<number> | null = null;

/** Send what waits, in order; stop at the first network failure. Returns how many were sent. */
export function flush(transport: Transport): Promise<number> {
  flushing ??= doFlush(transport).finally(() => {
    flushing = null;
  });
  return flushing;
}

async function doFlush(transport: Transport): Promise<number> {
  let sent = 0;
  const blocked = new Set<string>(); // a case that failed holds back its events and files
  for (const item of await pending()) {
    if (item.owner !== owner) continue; // another account's: waits for its own sign-in
    if (item.state !== "waiting" || blocked.has(item.caseId)) {
      blocked.add(item.caseId);
      continue;
    }
    const database = await db();
    item.attempts += 1; // counted before sending: a lost answer makes the next try check first
    await database.put("outbox", item);
    try {
      await send(item, transport);
      await database.delete("outbox", item.seq as number);
      sent += 1;
    } catch (error) {
      if (error instanceof OfflineError) break;
      if (error instanceof ApiError && error.status >= 500) break;
      item.state = error instanceof ApiError && error.status === 409 ? "conflict" : "failed";
      item.error = error instanceof ApiError ? error.problem.detail : String(error);
      await database.put("outbox", item);
      blocked.add(item.caseId);
    }
    changed();
  }
  changed();
  return sent;
}

/** Keep a copy of data for offline reading. */
export async function cachePut(key: string, value: unknown): Promise<void> {
  await (await db()).put("cache", { key, value, savedAt: new Date().toISOString() });
}

/** A cached copy, or undefined. */
export async function cacheGet<T>(key: string): Promise<T | undefined> {
  return (await (await db()).get("cache", key))?.value as T | undefined;
}

/** Forget the cached case data (a session that ended elsewhere); the outbox stays. */
export async function clearCache(): Promise<void> {
  await (await db()).clear("cache");
}

/** Forget everything on this device: the outbox and cached data (at sign-out). */
export async function clearDevice(): Promise<void> {
  const database = await db();
  await database.clear("outbox");
  await database.clear("cache");
  changed();
}
