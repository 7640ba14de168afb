// The map background: country outlines from Natural Earth (world-atlas, public domain) on a
// neutral sea, bundled with the app, so a map makes no request to another host.

import maplibregl, { type StyleSpecification } from "maplibre-gl";
import "maplibre-gl/dist/maplibre-gl.css";
import { feature } from "topojson-client";
import type { GeometryCollection, Topology } from "topojson-specification";
import countries110m from "world-atlas/countries-110m.json";
import { bboxOf as bounds } from "../geofile";

export { maplibregl, bounds };

const topology = countries110m as unknown as Topology<{ countries: GeometryCollection }>;
const outlines = feature(topology, topology.objects.countries);

export function baseStyle(): StyleSpecification {
  return {
    version: 8,
    sources: { countries: { type: "geojson", data: outlines } },
    layers: [
      { id: "sea", type: "background", paint: { "background-color": "#dde6ea" } },
      { id: "land", type: "fill", source: "countries", paint: { "fill-color": "#f6f4ee" } },
      {
        id: "borders",
        type: "line",
        source: "countries",
        paint: { "line-color": "#8e8e84", "line-width": 0.7 },
      },
    ],
  };
}

/** A map in the container over the bundled background. */
export function createMap(
  container: HTMLElement,
  options: { center?: [number, number]; zoom?: number; label: string },
): maplibregl.Map {
  const map = new maplibregl.Map({
    container,
    style: baseStyle(),
    center: options.center ?? [20, 5],
    zoom: options.zoom ?? 1.5,
    attributionControl: { compact: true, customAttribution: "Natural Earth" },
    cooperativeGestures: false,
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  // the page's layout settles after the map is made (and a phone turns): follow the container
  const resize = new ResizeObserver(() => map.resize());
  resize.observe(container);
  map.on("remove", () => resize.disconnect());
  container.setAttribute("role", "region");
  container.setAttribute("aria-label", options.label);
  // tests and curious people read what the map holds through this
  (window as unknown as { ejMap?: maplibregl.Map }).ejMap = map;
  return map;
}

/** Frame a geometry, never closer than street level. */
export function fit(map: maplibregl.Map, geometry: GeoJSON.Geometry): void {
  const b = bounds(geometry);
  if (b) map.fitBounds(b, { padding: 40, maxZoom: 14, duration: 0 });
}
