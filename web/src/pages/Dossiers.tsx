import { useEffect, useState } from "preact/hooks";
import { api, ApiError, type Page } from "../api";
import { DossierStatus, type Dossier } from "../components/DossierRequest";
import { formatDate, t } from "../i18n";
import { cacheGet } from "../outbox";

/** The viewer's dossiers: the server's list, newest first (or those requested on this device). */
export function Dossiers() {
  const [items, setItems] = useState<Dossier[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);

  async function load(next: string | null) {
    try {
      const page = await api<Page<Dossier>>(`/api/v1/dossiers?limit=25${next ? `&cursor=${encodeURIComponent(next)}` : ""}`);
      setItems((old) => (next && old ? [...old, ...page.items] : page.items));
      setCursor(page.next_cursor);
    } catch (e) {
      if (!(e instanceof ApiError) || ![404, 405].includes(e.status)) throw e;
      // a server without the list: what this device asked for
      const ids = (await cacheGet<string[]>("dossiers")) ?? [];
      const known = await Promise.all(ids.map((id) => api<Dossier>(`/api/v1/dossiers/${id}`).catch(() => null)));
      setItems(known.filter((d): d is Dossier => d !== null));
    }
  }
  useEffect(() => void load(null).catch(() => setItems([])), []);

  return (
    <main id="main">
      <h1>{t("dossiers.title")}</h1>
      {items === null && <p role="status">{t("status.loading")}</p>}
      {items?.length === 0 && <p>{t("dossiers.none")}</p>}
      <ul class="cards" data-testid="dossiers">
        {items?.map((d) => (
          <li key={d.id} class="card">
            <strong>{formatDate(d.created_at, true)}</strong>
            <DossierStatus dossier={d} />
          </li>
        ))}
      </ul>
      {cursor && (
        <button type="button" class="secondary" onClick={() => void load(cursor)}>
          {t("cases.more")}
        </button>
      )}
    </main>
  );
}
