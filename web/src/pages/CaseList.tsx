import { useEffect, useRef, useState } from "preact/hooks";
import { api, OfflineError, query, type Case, type Me, type Page } from "../api";
import { formatDate, formatList, label, t } from "../i18n";
import { cacheGet, cachePut, onOutboxChange, pending, type OutboxItem } from "../outbox";
import { STATUSES, issueTypes } from "../vocab";

interface Filters {
  q: string;
  status: string;
  issue_type: string;
}

const PAGE = 25;

export function CaseList({ user }: { user: Me }) {
  const [filters, setFilters] = useState<Filters>({ q: "", status: "", issue_type: "" });
  const [items, setItems] = useState<Case[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [stale, setStale] = useState(false);
  const [types, setTypes] = useState<string[]>([]);
  const [waiting, setWaiting] = useState<OutboxItem[]>([]);
  const sentinel = useRef<HTMLDivElement>(null);
  const generation = useRef(0);

  useEffect(() => void issueTypes().then(setTypes).catch(() => undefined), []);
  useEffect(() => {
    const update = () => void pending().then((all) => setWaiting(all.filter((i) => i.kind === "case")));
    update();
    return onOutboxChange(update);
  }, []);

  async function load(next: string | null) {
    const mine = ++generation.current;
    setLoading(true);
    const cacheKey = `cases:${JSON.stringify(filters)}`;
    if (!next) {
      // the copy on the device first: usable at once on a weak line, replaced when the answer comes
      const saved = await cacheGet<Case[]>(cacheKey).catch(() => undefined);
      if (saved && mine === generation.current) setItems(saved);
    }
    try {
      const page = await api<Page<Case>>(
        `/api/v1/cases${query({ ...filters, limit: PAGE, cursor: next })}`,
      );
      if (mine !== generation.current) return;
      setItems((old) => (next ? [...old, ...page.items] : page.items));
      setCursor(page.next_cursor);
      setStale(false);
      if (!next) await cachePut(cacheKey, page.items);
    } catch (error) {
      if (!(error instanceof OfflineError) || mine !== generation.current) throw error;
      if (!next) setItems((await cacheGet<Case[]>(cacheKey)) ?? []);
      setCursor(null);
      setStale(true);
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  }

  useEffect(() => {
    const timer = setTimeout(() => void load(null), filters.q ? 300 : 0);
    return () => clearTimeout(timer);
  }, [filters]);

  useEffect(() => {
    const el = sentinel.current;
    if (!el || !cursor) return undefined;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting) && !loading) void load(cursor);
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, [cursor, loading]);

  const set = (name: keyof Filters) => (e: Event) =>
    setFilters({ ...filters, [name]: (e.target as HTMLInputElement).value });
  const canCreate = user.role !== "campaigner" && user.role !== "coordinator";

  return (
    <main id="main">
      <div class="title-row">
        <h1>{t("cases.title")}</h1>
        {canCreate && (
          <a class="button" href="/cases/new">
            {t("cases.new")}
          </a>
        )}
      </div>
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>
          {t("cases.search")}
          <input type="search" name="q" value={filters.q} onInput={set("q")} />
        </label>
        <label>
          {t("cases.status")}
          <select name="status" value={filters.status} onChange={set("status")}>
            <option value="">{t("cases.any")}</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {label("status", s)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("cases.issue_type")}
          <select name="issue_type" value={filters.issue_type} onChange={set("issue_type")}>
            <option value="">{t("cases.any")}</option>
            {types.map((s) => (
              <option key={s} value={s}>
                {label("issue", s)}
              </option>
            ))}
          </select>
        </label>
      </form>
      {stale && <p class="notice">{t("cases.offline_copy")}</p>}
      {waiting.length > 0 && (
        <section aria-labelledby="waiting-h">
          <h2 id="waiting-h">{t("cases.waiting")}</h2>
          <ul class="cards">
            {waiting.map((w) => (
              <li key={w.seq} class="card pending">
                <strong>{w.label}</strong> <span class="tag">{t(`outbox.state.${w.state}`)}</span>
              </li>
            ))}
          </ul>
        </section>
      )}
      <ul class="cards" aria-busy={loading} data-testid="case-list">
        {items.map((c) => (
          <li key={c.id} class="card">
            <a href={`/cases/${c.id}`}>
              <span class="ref">{c.reference}</span> <strong>{c.title}</strong>
            </a>
            <div class="meta">
              <span class={`tag status-${c.status}`}>{label("status", c.status)}</span>{" "}
              {formatList(c.issue_types.map((i) => label("issue", i)))}
              {c.place_name ? ` · ${c.place_name}` : ""} · {formatDate(c.updated_at)}
            </div>
          </li>
        ))}
      </ul>
      {!loading && items.length === 0 && <p>{t("cases.none")}</p>}
      {loading && <p role="status">{t("status.loading")}</p>}
      {cursor && (
        <div ref={sentinel}>
          <button type="button" class="secondary" disabled={loading} onClick={() => void load(cursor)}>
            {t("cases.more")}
          </button>
        </div>
      )}
    </main>
  );
}
