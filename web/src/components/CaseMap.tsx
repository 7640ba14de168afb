import { useEffect, useRef, useState } from "preact/hooks";
import { t } from "../i18n";

/** A small map of one or more geometries, loaded only when asked for (the map code is big). */
export function CaseMap({ geometry, features }: { geometry?: GeoJSON.Geometry; features?: GeoJSON.FeatureCollection }) {
  const [open, setOpen] = useState(false);
  const container = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open || !container.current) return undefined;
    let remove = () => undefined as void;
    let cancelled = false;
    void import("../map/small").then(({ showShapes }) => {
      if (cancelled || !container.current) return;
      const data: GeoJSON.FeatureCollection =
        features ?? { type: "FeatureCollection", features: geometry ? [{ type: "Feature", properties: {}, geometry }] : [] };
      remove = showShapes(container.current, data, t("case.map_label"));
    });
    return () => {
      cancelled = true;
      remove();
    };
  }, [open, geometry, features]);
  return open ? (
    <div ref={container} class="small-map" data-testid="small-map" />
  ) : (
    <button type="button" class="secondary" onClick={() => setOpen(true)}>
      {t("case.show_map")}
    </button>
  );
}
