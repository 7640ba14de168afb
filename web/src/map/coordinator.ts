// The coordinator's map: the case tiles (clusters at low zoom), hotspot layers on top.

import type maplibregl from "maplibre-gl";
import { createMap } from "./base";

export type Selection =
  | { kind: "case"; properties: Record<string, unknown> }
  | { kind: "cluster"; properties: Record<string, unknown>; geometry: GeoJSON.Geometry };

export interface CoordinatorMap {
  setFilters(queryString: string): void;
  setHotspots(name: "dbscan" | "hexagons", data: GeoJSON.FeatureCollection | null): void;
  destroy(): void;
}

const empty: GeoJSON.FeatureCollection = { type: "FeatureCollection", features: [] };
const CASE_COLOR = "#b4481f";

function tileUrl(queryString: string): string {
  return `${location.origin}/api/v1/tiles/cases/{z}/{x}/{y}.mvt${queryString}`;
}

export function mountCoordinatorMap(
  container: HTMLElement,
  options: { label: string; onSelect(selection: Selection): void },
): CoordinatorMap {
  const map: maplibregl.Map = createMap(container, { label: options.label });
  let loaded = false;
  let query = "";
  const hotspots: Record<string, GeoJSON.FeatureCollection | null> = { dbscan: null, hexagons: null };

  map.on("load", () => {
    loaded = true;
    map.addSource("cases", { type: "vector", tiles: [tileUrl(query)], minzoom: 0, maxzoom: 16 });
    map.addSource("hex", { type: "geojson", data: hotspots.hexagons ?? empty });
    map.addSource("dbscan", { type: "geojson", data: hotspots.dbscan ?? empty });
    map.addLayer({
      id: "hex-fill",
      type: "fill",
      source: "hex",
      paint: {
        "fill-color": [
          "interpolate",
          ["linear"],
          ["coalesce", ["get", "z_score"], 0],
          -3, "#2166ac",
          -1.96, "#67a9cf",
          0, "#f7f7f7",
          1.96, "#ef8a62",
          3, "#b2182b",
        ],
        "fill-opacity": 0.55,
      },
    });
    map.addLayer({ id: "hex-line", type: "line", source: "hex", paint: { "line-color": "#555", "line-width": 0.5 } });
    map.addLayer({
      id: "case-fill",
      type: "fill",
      source: "cases",
      "source-layer": "cases",
      filter: ["==", ["geometry-type"], "Polygon"],
      paint: { "fill-color": CASE_COLOR, "fill-opacity": 0.35 },
    });
    map.addLayer({
      id: "case-line",
      type: "line",
      source: "cases",
      "source-layer": "cases",
      filter: ["!=", ["geometry-type"], "Point"],
      paint: { "line-color": CASE_COLOR, "line-width": 1.5 },
    });
    map.addLayer({
      id: "case-point",
      type: "circle",
      source: "cases",
      "source-layer": "cases",
      filter: ["==", ["geometry-type"], "Point"],
      minzoom: 6,
      paint: { "circle-radius": 5, "circle-color": CASE_COLOR, "circle-stroke-color": "#fff", "circle-stroke-width": 1 },
    });
    map.addLayer({
      id: "case-clusters",
      type: "circle",
      source: "cases",
      "source-layer": "case_clusters",
      maxzoom: 6,
      paint: {
        "circle-radius": ["interpolate", ["linear"], ["sqrt", ["get", "count"]], 1, 5, 30, 28],
        "circle-color": CASE_COLOR,
        "circle-opacity": 0.75,
        "circle-stroke-color": "#fff",
        "circle-stroke-width": 1,
      },
    });
    map.addLayer({
      id: "dbscan-fill",
      type: "fill",
      source: "dbscan",
      paint: { "fill-color": "#6a3d9a", "fill-opacity": 0.15 },
    });
    map.addLayer({
      id: "dbscan-line",
      type: "line",
      source: "dbscan",
      paint: { "line-color": "#6a3d9a", "line-width": 2, "line-dasharray": [2, 1] },
    });
  });

  map.on("click", (e) => {
    const hits = map.queryRenderedFeatures(e.point, {
      layers: ["case-fill", "case-line", "case-point", "dbscan-fill", "hex-fill"].filter((l) => map.getLayer(l)),
    });
    const hit = hits.find((f) => f.layer.id.startsWith("case")) ?? hits[0];
    if (!hit) return;
    if (hit.layer.id.startsWith("case")) options.onSelect({ kind: "case", properties: hit.properties });
    else options.onSelect({ kind: "cluster", properties: hit.properties, geometry: hit.geometry });
  });
  for (const layer of ["case-fill", "case-point", "dbscan-fill", "hex-fill"]) {
    map.on("mouseenter", layer, () => (map.getCanvas().style.cursor = "pointer"));
    map.on("mouseleave", layer, () => (map.getCanvas().style.cursor = ""));
  }

  return {
    setFilters(queryString) {
      query = queryString;
      if (!loaded) return;
      (map.getSource("cases") as maplibregl.VectorTileSource).setTiles([tileUrl(query)]);
    },
    setHotspots(name, data) {
      hotspots[name] = data;
      if (!loaded) return; // the load handler adds what is stored
      (map.getSource(name === "hexagons" ? "hex" : "dbscan") as maplibregl.GeoJSONSource).setData(data ?? empty);
    },
    destroy() {
      map.remove();
    },
  };
}
