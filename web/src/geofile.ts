// A place from a file on the phone: GeoJSON, KML or GPX; the first shape found is taken.

export type Mode = "point" | "line" | "polygon";
export interface Shape {
  mode: Mode;
  vertices: [number, number][];
}

function fromGeometry(g: GeoJSON.Geometry | null | undefined): Shape | null {
  if (!g) return null;
  switch (g.type) {
    case "Point":
      return { mode: "point", vertices: [g.coordinates.slice(0, 2) as [number, number]] };
    case "MultiPoint":
      return fromGeometry({ type: "Point", coordinates: g.coordinates[0] });
    case "LineString":
      return { mode: "line", vertices: g.coordinates.map((c) => [c[0], c[1]]) };
    case "MultiLineString":
      return fromGeometry({ type: "LineString", coordinates: g.coordinates[0] });
    case "Polygon":
      return { mode: "polygon", vertices: g.coordinates[0].slice(0, -1).map((c) => [c[0], c[1]]) };
    case "MultiPolygon":
      return fromGeometry({ type: "Polygon", coordinates: g.coordinates[0] });
    case "GeometryCollection":
      return fromGeometry(g.geometries[0]);
  }
  return null;
}

function parseCoordinates(text: string): [number, number][] {
  return text
    .trim()
    .split(/\s+/)
    .map((tuple) => tuple.split(",").map(Number))
    .filter((c) => c.length >= 2 && c.every((n) => Number.isFinite(n)))
    .map((c) => [c[0], c[1]]);
}

function fromKml(doc: Document): Shape | null {
  const polygon = doc.querySelector("Polygon outerBoundaryIs coordinates, Polygon coordinates");
  if (polygon?.textContent) return { mode: "polygon", vertices: parseCoordinates(polygon.textContent).slice(0, -1) };
  const line = doc.querySelector("LineString coordinates");
  if (line?.textContent) return { mode: "line", vertices: parseCoordinates(line.textContent) };
  const point = doc.querySelector("Point coordinates");
  if (point?.textContent) return { mode: "point", vertices: parseCoordinates(point.textContent).slice(0, 1) };
  return null;
}

function fromGpx(doc: Document): Shape | null {
  const points = (selector: string) =>
    Array.from(doc.querySelectorAll(selector)).map(
      (p) => [Number(p.getAttribute("lon")), Number(p.getAttribute("lat"))] as [number, number],
    );
  const track = points("trkpt");
  if (track.length >= 2) return { mode: "line", vertices: track };
  const route = points("rtept");
  if (route.length >= 2) return { mode: "line", vertices: route };
  const way = points("wpt");
  return way.length ? { mode: "point", vertices: way.slice(0, 1) } : null;
}

/** Read the first shape of a GeoJSON, KML or GPX text; null when there is none. */
export function shapeFromText(text: string): Shape | null {
  const trimmed = text.trim();
  if (trimmed.startsWith("{")) {
    const json = JSON.parse(trimmed) as GeoJSON.GeoJSON;
    if (json.type === "FeatureCollection") return fromGeometry(json.features[0]?.geometry);
    if (json.type === "Feature") return fromGeometry(json.geometry);
    return fromGeometry(json as GeoJSON.Geometry);
  }
  const doc = new DOMParser().parseFromString(trimmed, "application/xml");
  return doc.querySelector("gpx") ? fromGpx(doc) : fromKml(doc);
}

/** The vertices as text, one "longitude, latitude" per line (the keyboard alternative). */
export function verticesToText(vertices: [number, number][]): string {
  return vertices.map(([x, y]) => `${x}, ${y}`).join("\n");
}

/** Parse "longitude, latitude" lines; throws with the line number of a bad one. */
export function textToVertices(text: string): [number, number][] {
  return text
    .split("\n")
    .map((line, i) => [line.trim(), i + 1] as const)
    .filter(([line]) => line)
    .map(([line, n]) => {
      const parts = line.split(/[,;\s]+/).map(Number);
      const [x, y] = parts;
      if (parts.length !== 2 || !Number.isFinite(x) || !Number.isFinite(y) || Math.abs(x) > 180 || Math.abs(y) > 90) {
        throw new Error(String(n));
      }
      return [x, y] as [number, number];
    });
}

/** The GeoJSON geometry the vertices make in a mode (null until there are enough). */
export function geometryOf(vertices: [number, number][], mode: Mode): GeoJSON.Geometry | null {
  if (mode === "point") return vertices.length ? { type: "Point", coordinates: vertices[0] } : null;
  if (mode === "line") return vertices.length >= 2 ? { type: "LineString", coordinates: vertices } : null;
  return vertices.length >= 3 ? { type: "Polygon", coordinates: [[...vertices, vertices[0]]] } : null;
}


/** [minx, miny, maxx, maxy] of a geometry, or null when it has no coordinates. */
export function bboxOf(geometry: GeoJSON.Geometry): [number, number, number, number] | null {
  const box = [Infinity, Infinity, -Infinity, -Infinity];
  const walk = (c: unknown): void => {
    if (Array.isArray(c) && typeof c[0] === "number") {
      box[0] = Math.min(box[0], c[0] as number);
      box[1] = Math.min(box[1], c[1] as number);
      box[2] = Math.max(box[2], c[0] as number);
      box[3] = Math.max(box[3], c[1] as number);
    } else if (Array.isArray(c)) c.forEach(walk);
  };
  if (geometry.type === "GeometryCollection") geometry.geometries.forEach((g) => walk(bboxOf(g)));
  else walk(geometry.coordinates);
  return box[0] === Infinity ? null : (box as [number, number, number, number]);
}
