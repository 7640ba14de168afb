import "fake-indexeddb/auto";
import { beforeEach, describe, expect, it } from "vitest";
import { ApiError, OfflineError, type CaseBody, type Evidence, type TimelineEvent } from "./api";
import {
  cacheGet,
  cachePut,
  clearDevice,
  enqueue,
  flush,
  pending,
  setOutboxOwner,
  type OutboxItem,
  type Transport,
} from "./outbox";

const CASE_ID = "7f1c1d52-1b0e-4c55-9d8e-0a0b0c0d0e0f";

function caseBody(): CaseBody {
  return {
    id: CASE_ID,
    title: "Dust at the school",
    summary: "",
    issue_types: ["air_pollution"],
    sensitivity: "normal",
    geometry: { type: "Point", coordinates: [36.8, -1.3] },
    location_precision: "exact",
    place_name: null,
    country: "KE",
    people_affected: null,
    respondents: [],
    opened_on: null,
  };
}

/** A server in memory: stores what it receives, and can drop the network or lose answers. */
class FakeServer implements Transport {
  cases = new Map<string, CaseBody>();
  events: TimelineEvent[] = [];
  evidence: Evidence[] = [];
  offline = false;
  loseNextAnswer = false;

  private async deliver<T>(work: () => T): Promise<T> {
    if (this.offline) throw new OfflineError("offline");
    const result = work();
    if (this.loseNextAnswer) {
      this.loseNextAnswer = false;
      throw new OfflineError("the answer was lost");
    }
    return result;
  }
  createCase(body: CaseBody) {
    return this.deliver(() => {
      const old = this.cases.get(body.id as string);
      if (old && JSON.stringify(old) !== JSON.stringify(body)) throw new ApiError(409, { title: "Conflict", status: 409, detail: "changed" });
      this.cases.set(body.id as string, body);
      return body;
    });
  }
  addEvent(caseId: string, body: Record<string, unknown>) {
    return this.deliver(() => {
      const event = { ...body, id: String(this.events.length), case_id: caseId } as unknown as TimelineEvent;
      this.events.push(event);
      return event;
    });
  }
  listEvents() {
    return this.deliver(() => this.events);
  }
  uploadEvidence(item: OutboxItem) {
    return this.deliver(() => {
      const e = { id: String(this.evidence.length), case_id: item.caseId, sha256: item.sha256 } as Evidence;
      this.evidence.push(e);
      return e;
    });
  }
  listEvidence() {
    return this.deliver(() => this.evidence);
  }
}

async function queueCaseWithPhotoAndStep(): Promise<void> {
  await enqueue({ kind: "case", caseId: CASE_ID, label: "Dust at the school", body: caseBody() });
  await enqueue({
    kind: "evidence",
    caseId: CASE_ID,
    label: "photo.jpg",
    bytes: new Uint8Array([1, 2, 3]).buffer,
    mediaType: "image/jpeg",
    filename: "photo.jpg",
    sha256: "ab".repeat(32),
    evidenceKind: "photo",
  });
  await enqueue({
    kind: "event",
    caseId: CASE_ID,
    label: "note",
    body: { kind: "note", occurred_on: "2026-03-01", description: "Met the head teacher" },
  });
}

describe("outbox", () => {
  beforeEach(async () => {
    setOutboxOwner("paralegal-1");
    await clearDevice();
  });

  it("sends only what the signed-in user recorded", async () => {
    const server = new FakeServer();
    await queueCaseWithPhotoAndStep();
    setOutboxOwner("someone-else");
    expect(await flush(server)).toBe(0);
    expect(await pending()).toHaveLength(3);
    setOutboxOwner("paralegal-1");
    expect(await flush(server)).toBe(3);
  });

  it("keeps everything while offline and sends it in order when back", async () => {
    const server = new FakeServer();
    await queueCaseWithPhotoAndStep();
    server.offline = true;
    expect(await flush(server)).toBe(0);
    expect((await pending()).map((i) => i.kind)).toEqual(["case", "evidence", "event"]);
    server.offline = false;
    expect(await flush(server)).toBe(3);
    expect(await pending()).toEqual([]);
    expect(server.cases.size).toBe(1);
    expect(server.evidence.map((e) => e.sha256)).toEqual(["ab".repeat(32)]);
    expect(server.events).toHaveLength(1);
  });

  it("never duplicates when an answer is lost and the item is sent again", async () => {
    const server = new FakeServer();
    await queueCaseWithPhotoAndStep();
    for (let i = 0; i < 3; i++) {
      server.loseNextAnswer = true; // stored on the server, but the phone never hears back
      await flush(server);
    }
    await flush(server);
    expect(await pending()).toEqual([]);
    expect(server.cases.size).toBe(1);
    expect(server.evidence).toHaveLength(1);
    expect(server.events).toHaveLength(1);
  });

  it("marks a changed replay as a conflict and holds back that case's files", async () => {
    const server = new FakeServer();
    server.cases.set(CASE_ID, { ...caseBody(), title: "Someone else's title" });
    await queueCaseWithPhotoAndStep();
    await flush(server);
    const items = await pending();
    expect(items.map((i) => [i.kind, i.state])).toEqual([
      ["case", "conflict"],
      ["evidence", "waiting"],
      ["event", "waiting"],
    ]);
    expect(server.evidence).toHaveLength(0);
  });

  it("clears the outbox and the cached data at sign-out", async () => {
    await queueCaseWithPhotoAndStep();
    await cachePut("cases:{}", [{ id: CASE_ID }]);
    await clearDevice();
    expect(await pending()).toEqual([]);
    expect(await cacheGet("cases:{}")).toBeUndefined();
  });
});
