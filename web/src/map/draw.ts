// Drawing a case's place: tap to add vertices, drag a vertex to move it. The form owns the
// vertex list; this module only shows it and reports taps and drags.

import type maplibregl from "maplibre-gl";
import { createMap, fit } from "./base";
import { geometryOf } from "../geofile";

export type Mode = "point" | "line" | "polygon";
type LngLat = [number, number];

export interface DrawMap {
  show(vertices: LngLat[], mode: Mode): void;
  frame(geometry: GeoJSON.Geometry): void;
  destroy(): void;
}


const empty: GeoJSON.FeatureCollection = { type: "FeatureCollection", features: [] };

export function mountDrawMap(
  container: HTMLElement,
  handlers: { onAdd(p: LngLat): void; onMove(index: number, p: LngLat): void; label: string },
): DrawMap {
  const map: maplibregl.Map = createMap(container, { label: handlers.label });
  let dragging: number | null = null;
  let pending: { vertices: LngLat[]; mode: Mode } | null = null;
  let loaded = false;

  function render(vertices: LngLat[], mode: Mode) {
    const shape = geometryOf(vertices, mode);
    const lineOnly = mode === "polygon" && vertices.length === 2;
    (map.getSource("draft") as maplibregl.GeoJSONSource | undefined)?.setData({
      type: "FeatureCollection",
      features: shape
        ? [{ type: "Feature", properties: {}, geometry: shape }]
        : lineOnly
          ? [{ type: "Feature", properties: {}, geometry: { type: "LineString", coordinates: vertices } }]
          : [],
    });
    (map.getSource("vertices") as maplibregl.GeoJSONSource | undefined)?.setData({
      type: "FeatureCollection",
      features: vertices.map((c, i) => ({
        type: "Feature",
        properties: { index: i },
        geometry: { type: "Point", coordinates: c },
      })),
    });
  }

  map.on("load", () => {
    map.addSource("draft", { type: "geojson", data: empty });
    map.addSource("vertices", { type: "geojson", data: empty });
    map.addLayer({
      id: "draft-fill",
      type: "fill",
      source: "draft",
      filter: ["==", ["geometry-type"], "Polygon"],
      paint: { "fill-color": "#1f5135", "fill-opacity": 0.25 },
    });
    map.addLayer({
      id: "draft-line",
      type: "line",
      source: "draft",
      paint: { "line-color": "#1f5135", "line-width": 2 },
    });
    map.addLayer({
      id: "draft-vertices",
      type: "circle",
      source: "vertices",
      paint: {
        "circle-radius": 7,
        "circle-color": "#ffffff",
        "circle-stroke-color": "#1f5135",
        "circle-stroke-width": 2,
      },
    });
    loaded = true;
    if (pending) render(pending.vertices, pending.mode);
  });

  map.on("click", (e) => {
    if (dragging === null) handlers.onAdd([round(e.lngLat.lng), round(e.lngLat.lat)]);
  });
  const startDrag = (e: maplibregl.MapLayerMouseEvent | maplibregl.MapLayerTouchEvent) => {
    const index = e.features?.[0]?.properties?.index;
    if (typeof index !== "number") return;
    e.preventDefault();
    dragging = index;
    map.dragPan.disable();
  };
  map.on("mousedown", "draft-vertices", startDrag);
  map.on("touchstart", "draft-vertices", startDrag);
  const move = (e: maplibregl.MapMouseEvent | maplibregl.MapTouchEvent) => {
    if (dragging !== null) handlers.onMove(dragging, [round(e.lngLat.lng), round(e.lngLat.lat)]);
  };
  map.on("mousemove", move);
  map.on("touchmove", move);
  const end = () => {
    if (dragging === null) return;
    map.dragPan.enable();
    setTimeout(() => (dragging = null), 0); // the click that ends a drag adds no vertex
  };
  map.on("mouseup", end);
  map.on("touchend", end);

  return {
    show(vertices, mode) {
      pending = { vertices, mode };
      if (loaded) render(vertices, mode);
    },
    frame(geometry) {
      fit(map, geometry);
    },
    destroy() {
      map.remove();
    },
  };
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
