import { useEffect, useState } from "preact/hooks";
import { api, type Case, type CaseBody } from "../api";
import { Conflict } from "../components/Conflict";
import { formatBytes, formatDate, label, t } from "../i18n";
import { discard, onOutboxChange, pending, type OutboxItem } from "../outbox";
import { online, sendOutbox } from "../session";
import { useSignal } from "../signal";

function ConflictItem({ item }: { item: OutboxItem }) {
  const [theirs, setTheirs] = useState<Case | null>(null);
  useEffect(() => void api<Case>(`/api/v1/cases/${item.caseId}`).then(setTheirs).catch(() => undefined), [item.caseId]);
  if (!theirs) return null;
  return (
    <Conflict
      mine={item.body as CaseBody}
      theirs={theirs}
      onKeepMine={() => {
        const { id: _id, ...changes } = item.body as CaseBody;
        void api(`/api/v1/cases/${item.caseId}`, "PATCH", changes, { "If-Match": String(theirs.version) }).then(() =>
          discard(item.seq as number),
        );
      }}
      onTakeTheirs={() => void discard(item.seq as number)}
    />
  );
}

export function OutboxPage() {
  const [items, setItems] = useState<OutboxItem[]>([]);
  const isOnline = useSignal(online);
  const [sending, setSending] = useState(false);
  const saved = location.search.includes("saved=1");

  useEffect(() => {
    const update = () => void pending().then(setItems);
    update();
    return onOutboxChange(update);
  }, []);

  return (
    <main id="main">
      <h1>{t("outbox.title")}</h1>
      {saved && items.length > 0 && <p class="notice" role="status">{t("outbox.saved_offline")}</p>}
      <p>{items.length ? t("outbox.waiting", { count: items.length }) : t("outbox.empty")}</p>
      {items.length > 0 && (
        <button
          type="button"
          disabled={!isOnline || sending}
          onClick={() => {
            setSending(true);
            void sendOutbox().finally(() => setSending(false));
          }}
        >
          {t("outbox.send_now")}
        </button>
      )}
      <ul class="cards" data-testid="outbox">
        {items.map((item) => (
          <li key={item.seq} class="card">
            <strong>{item.label}</strong>
            <div class="meta">
              {label("outbox_kind", item.kind)} · {t(`outbox.state.${item.state}` as "outbox.state.waiting")} ·{" "}
              {formatDate(item.createdAt, true)}
              {item.bytes ? ` · ${formatBytes(item.bytes.byteLength)}` : ""}
            </div>
            {item.error && <p class="error">{item.error}</p>}
            {item.state === "conflict" && item.kind === "case" && <ConflictItem item={item} />}
            {item.state !== "waiting" && (
              <button type="button" class="secondary" onClick={() => void discard(item.seq as number)}>
                {t("outbox.discard")}
              </button>
            )}
          </li>
        ))}
      </ul>
    </main>
  );
}
