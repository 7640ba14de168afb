// A small map showing shapes (a case, a campaign's cases).

import { bounds, createMap } from "./base";

export function showShapes(container: HTMLElement, data: GeoJSON.FeatureCollection, label: string): () => void {
  const map = createMap(container, { label });
  map.on("load", () => {
    map.addSource("shapes", { type: "geojson", data });
    map.addLayer({
      id: "shapes-fill",
      type: "fill",
      source: "shapes",
      filter: ["==", ["geometry-type"], "Polygon"],
      paint: { "fill-color": "#b4481f", "fill-opacity": 0.3 },
    });
    map.addLayer({ id: "shapes-line", type: "line", source: "shapes", paint: { "line-color": "#b4481f", "line-width": 2 } });
    map.addLayer({
      id: "shapes-point",
      type: "circle",
      source: "shapes",
      filter: ["==", ["geometry-type"], "Point"],
      paint: { "circle-radius": 6, "circle-color": "#b4481f", "circle-stroke-color": "#fff", "circle-stroke-width": 1.5 },
    });
    const box = bounds({ type: "GeometryCollection", geometries: data.features.map((f) => f.geometry) });
    if (box) map.fitBounds(box, { padding: 30, maxZoom: 13, duration: 0 });
  });
  return () => map.remove();
}
