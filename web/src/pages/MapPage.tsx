import { useEffect, useRef, useState } from "preact/hooks";
import { api, query, request, type Case, type Me, type Page } from "../api";
import { formatNumber, label, t } from "../i18n";
import { bboxOf } from "../geofile";
import type { CoordinatorMap, Selection } from "../map/coordinator";
import { STATUSES, issueTypes } from "../vocab";

interface Filters {
  q: string;
  status: string;
  issue_type: string;
  organization_id: string;
  country: string;
  updated_after: string;
}

/** The hotspot layer; a 202 means the worker is still computing: ask again as it says. */
async function fetchHotspots(params: string): Promise<GeoJSON.FeatureCollection> {
  const deadline = Date.now() + 5 * 60_000;
  while (Date.now() < deadline) {
    const response = await request(`/api/v1/hotspots${params}`);
    if (response.status === 200) return (await response.json()) as GeoJSON.FeatureCollection;
    const wait = Number(response.headers.get("Retry-After") ?? "2");
    await new Promise((r) => setTimeout(r, Math.min(Math.max(wait, 1), 5) * 1000));
  }
  throw new Error("hotspots not ready");
}

export function MapPage({ user }: { user: Me }) {
  const container = useRef<HTMLDivElement>(null);
  const map = useRef<CoordinatorMap | null>(null);
  const [filters, setFilters] = useState<Filters>({ q: "", status: "", issue_type: "", organization_id: "", country: "", updated_after: "" });
  const [types, setTypes] = useState<string[]>([]);
  const [orgs, setOrgs] = useState<{ id: string; name: string }[]>([]);
  const [dbscan, setDbscan] = useState(false);
  const [hexagons, setHexagons] = useState(false);
  const [hotspotState, setHotspotState] = useState("");
  const [selection, setSelection] = useState<Selection | null>(null);
  const [clusterCases, setClusterCases] = useState<Case[]>([]);
  const corps = user.role === "coordinator" || user.role === "admin";

  useEffect(() => {
    void issueTypes().then(setTypes).catch(() => undefined);
    if (corps)
      void api<Page<{ id: string; name: string }>>("/api/v1/organizations?limit=500")
        .then((p) => setOrgs(p.items))
        .catch(() => undefined);
    let cancelled = false;
    void import("../map/coordinator").then(({ mountCoordinatorMap }) => {
      if (cancelled || !container.current) return;
      map.current = mountCoordinatorMap(container.current, { label: t("map.label"), onSelect: setSelection });
      map.current.setFilters(query({ ...filters }));
    });
    return () => {
      cancelled = true;
      map.current?.destroy();
      map.current = null;
    };
  }, []);

  const qs = query({ ...filters, updated_after: filters.updated_after ? `${filters.updated_after}T00:00:00Z` : "" });
  useEffect(() => map.current?.setFilters(qs), [qs]);

  useEffect(() => {
    if (!dbscan) return map.current?.setHotspots("dbscan", null);
    setHotspotState(t("map.computing"));
    void fetchHotspots(`${qs || "?"}${qs ? "&" : ""}method=dbscan&distance_km=25&min_cases=3`)
      .then((fc) => {
        map.current?.setHotspots("dbscan", fc);
        setHotspotState(t("map.clusters_found", { count: fc.features.length }));
      })
      .catch(() => setHotspotState(t("map.hotspots_failed")));
    return undefined;
  }, [dbscan, qs]);

  useEffect(() => {
    if (!hexagons) return map.current?.setHotspots("hexagons", null);
    setHotspotState(t("map.computing"));
    void fetchHotspots(`${qs || "?"}${qs ? "&" : ""}method=hexagons&cell_km=50`)
      .then((fc) => {
        map.current?.setHotspots("hexagons", fc);
        const hot = fc.features.filter((f) => f.properties?.hot && (f.properties?.z_score ?? 0) > 0).length;
        setHotspotState(t("map.hexagons_found", { count: fc.features.length, hot }));
      })
      .catch(() => setHotspotState(t("map.hotspots_failed")));
    return undefined;
  }, [hexagons, qs]);

  useEffect(() => {
    setClusterCases([]);
    if (selection?.kind !== "cluster") return;
    const box = bboxOf(selection.geometry);
    if (!box) return;
    void api<Page<Case>>(`/api/v1/cases${query({ ...filters, bbox: box.join(","), limit: 50 })}`)
      .then((p) => setClusterCases(p.items))
      .catch(() => undefined);
  }, [selection]);

  const set = (name: keyof Filters) => (e: Event) => setFilters({ ...filters, [name]: (e.target as HTMLInputElement).value });
  const p = selection?.properties ?? {};

  return (
    <main id="main" class="map-page">
      <h1 class="visually-hidden">{t("map.title")}</h1>
      <aside class="map-controls">
        <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
          <label>
            {t("cases.search")}
            <input type="search" name="q" value={filters.q} onChange={set("q")} />
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
          {corps && (
            <label>
              {t("map.organization")}
              <select name="organization_id" value={filters.organization_id} onChange={set("organization_id")}>
                <option value="">{t("cases.any")}</option>
                {orgs.map((o) => (
                  <option key={o.id} value={o.id}>
                    {o.name}
                  </option>
                ))}
              </select>
            </label>
          )}
          <label>
            {t("form.country")}
            <input name="country" maxLength={2} value={filters.country} onChange={set("country")} />
          </label>
          <label>
            {t("map.updated_after")}
            <input type="date" name="updated_after" value={filters.updated_after} onChange={set("updated_after")} />
          </label>
        </form>
        <fieldset>
          <legend>{t("map.hotspots")}</legend>
          <label>
            <input type="checkbox" name="dbscan" checked={dbscan} onChange={() => setDbscan(!dbscan)} />
            {t("map.dbscan")}
          </label>
          <label>
            <input type="checkbox" name="hexagons" checked={hexagons} onChange={() => setHexagons(!hexagons)} />
            {t("map.hexagons")}
          </label>
          {hotspotState && <p role="status" data-testid="hotspot-state">{hotspotState}</p>}
          {hexagons && (
            <div data-testid="legend">
              <ul class="legend" aria-label={t("map.legend")}>
                <li>
                  <span class="swatch" style={{ background: "#b2182b" }} /> {t("map.legend_hot")}
                </li>
                <li>
                  <span class="swatch" style={{ background: "#f7f7f7" }} /> {t("map.legend_neutral")}
                </li>
                <li>
                  <span class="swatch" style={{ background: "#2166ac" }} /> {t("map.legend_cold")}
                </li>
              </ul>
              <p class="hint">{t("map.legend_help")}</p>
            </div>
          )}
          {dbscan && (
            <ul class="legend">
              <li>
                <span class="swatch dashed" /> {t("map.legend_cluster")}
              </li>
            </ul>
          )}
        </fieldset>
      </aside>
      <div ref={container} class="big-map" data-testid="coordinator-map" />
      {selection && (
        <aside class="side-panel" aria-labelledby="panel-h" data-testid="side-panel">
          <button type="button" class="link close" onClick={() => setSelection(null)} aria-label={t("map.close")}>
            ×
          </button>
          {selection.kind === "case" ? (
            <>
              <h2 id="panel-h">{String(p.reference ?? "")}</h2>
              <p>
                {label("status", String(p.status ?? ""))} ·{" "}
                {String(p.issue_types ?? "")
                  .split(",")
                  .map((i) => label("issue", i))
                  .join(", ")}
              </p>
              {p.generalized === true && <p class="hint">{t("map.generalized")}</p>}
              <a href={`/cases/${String(p.id)}`}>{t("map.open_case")}</a>
            </>
          ) : (
            <>
              <h2 id="panel-h">{t("map.hotspot")}</h2>
              <p>
                {t("map.case_count", { count: Number(p.case_count ?? 0) })}
                {p.organization_count !== undefined && ` · ${t("map.org_count", { count: Number(p.organization_count) })}`}
                {p.z_score !== undefined && ` · z = ${formatNumber(Number(p.z_score), { maximumFractionDigits: 2 })}`}
              </p>
              <ul>
                {clusterCases.map((c) => (
                  <li key={c.id}>
                    <a href={`/cases/${c.id}`}>
                      {c.reference} {c.title}
                    </a>
                  </li>
                ))}
              </ul>
            </>
          )}
        </aside>
      )}
    </main>
  );
}
