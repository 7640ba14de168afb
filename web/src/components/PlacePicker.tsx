import { useEffect, useRef, useState } from "preact/hooks";
import { formatNumber, t } from "../i18n";
import { geometryOf, shapeFromText, textToVertices, verticesToText, type Mode } from "../geofile";
import type { DrawMap } from "../map/draw";

type LngLat = [number, number];

/** The place of a case: drawn on the map, typed as coordinates, the GPS fix, or a file. */
export function PlacePicker(props: {
  initial?: GeoJSON.Geometry | null;
  onChange(geometry: GeoJSON.Geometry | null): void;
}) {
  const start = props.initial ? shapeFromText(JSON.stringify(props.initial)) : null;
  const [mode, setMode] = useState<Mode>(start?.mode ?? "polygon");
  const [vertices, setVertices] = useState<LngLat[]>(start?.vertices ?? []);
  const [text, setText] = useState(verticesToText(start?.vertices ?? []));
  const [textError, setTextError] = useState("");
  const [gps, setGps] = useState("");
  const [showMap, setShowMap] = useState(false);
  const container = useRef<HTMLDivElement>(null);
  const drawMap = useRef<DrawMap | null>(null);
  const modeRef = useRef(mode);
  modeRef.current = mode;
  const verticesRef = useRef(vertices);

  function update(next: LngLat[], nextMode = modeRef.current) {
    verticesRef.current = next;
    setVertices(next);
    setText(verticesToText(next));
    props.onChange(geometryOf(next, nextMode));
    drawMap.current?.show(next, nextMode);
  }

  useEffect(() => {
    if (!showMap || !container.current) return undefined;
    let cancelled = false;
    void import("../map/draw").then(({ mountDrawMap }) => {
      if (cancelled || !container.current) return;
      drawMap.current = mountDrawMap(container.current, {
        label: t("place.map_label"),
        onAdd: (p) => update(modeRef.current === "point" ? [p] : [...verticesRef.current, p]),
        onMove: (i, p) => update(verticesRef.current.map((v, j) => (j === i ? p : v))),
      });
      drawMap.current.show(vertices, mode);
      const g = geometryOf(vertices, mode);
      if (g) drawMap.current.frame(g);
    });
    return () => {
      cancelled = true;
      drawMap.current?.destroy();
      drawMap.current = null;
    };
  }, [showMap]);

  function changeMode(next: Mode) {
    modeRef.current = next;
    setMode(next);
    if (verticesRef.current.length) update(next === "point" ? verticesRef.current.slice(0, 1) : verticesRef.current, next);
  }

  function applyText() {
    try {
      const next = textToVertices(text);
      setTextError("");
      update(next);
      const g = geometryOf(next, mode);
      if (g) drawMap.current?.frame(g);
    } catch (e) {
      setTextError(t("place.bad_line", { line: (e as Error).message }));
    }
  }

  function locate() {
    if (!navigator.geolocation) return setGps(t("place.gps_none"));
    setGps(t("place.gps_wait"));
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        const p: LngLat = [round(pos.coords.longitude), round(pos.coords.latitude)];
        modeRef.current = "point";
        setMode("point");
        update([p], "point");
        drawMap.current?.frame({ type: "Point", coordinates: p });
        setGps(t("place.gps_ok", { accuracy: formatNumber(Math.round(pos.coords.accuracy)) }));
      },
      () => setGps(t("place.gps_failed")),
      { enableHighAccuracy: true, timeout: 20000 },
    );
  }

  async function loadFile(e: Event) {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (!file) return;
    try {
      const shape = shapeFromText(await file.text());
      if (!shape || !shape.vertices.length) throw new Error("empty");
      modeRef.current = shape.mode;
      setMode(shape.mode);
      update(shape.vertices, shape.mode);
      const g = geometryOf(shape.vertices, shape.mode);
      if (g) drawMap.current?.frame(g);
      setTextError("");
    } catch {
      setTextError(t("place.file_bad"));
    }
  }

  return (
    <fieldset class="place">
      <legend>{t("place.legend")}</legend>
      <div class="segmented" role="radiogroup" aria-label={t("place.shape")}>
        {(["point", "line", "polygon"] as Mode[]).map((m) => (
          <label key={m}>
            <input type="radio" name="shape" value={m} checked={mode === m} onChange={() => changeMode(m)} />
            {t(`place.${m}`)}
          </label>
        ))}
      </div>
      {showMap ? (
        <>
          <div ref={container} class="draw-map" data-testid="draw-map" />
          <p class="hint">{t(mode === "point" ? "place.tap_point" : "place.tap_vertices")}</p>
          <div class="row">
            <button type="button" class="secondary" onClick={() => update(vertices.slice(0, -1))}>
              {t("place.undo")}
            </button>
            <button type="button" class="secondary" onClick={() => update([])}>
              {t("place.clear")}
            </button>
          </div>
        </>
      ) : (
        <button type="button" class="secondary" onClick={() => setShowMap(true)}>
          {t("place.open_map")}
        </button>
      )}
      <div class="row">
        <button type="button" class="secondary" onClick={locate}>
          {t("place.gps")}
        </button>
        <label class="file-button">
          {t("place.file")}
          <input type="file" accept=".kml,.gpx,.geojson,.json,application/geo+json" onChange={loadFile} />
        </label>
      </div>
      {gps && <p role="status">{gps}</p>}
      <label>
        {t("place.coordinates")}
        <textarea
          name="coordinates"
          rows={4}
          dir="ltr"
          value={text}
          aria-describedby="coord-help"
          onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
        />
      </label>
      <p id="coord-help" class="hint">
        {t("place.coordinates_help")}
      </p>
      <button type="button" class="secondary" onClick={applyText}>
        {t("place.apply")}
      </button>
      {textError && (
        <p class="error" role="alert">
          {textError}
        </p>
      )}
      <p class="hint" data-testid="vertex-count">
        {t("place.count", { count: vertices.length })}
      </p>
    </fieldset>
  );
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
