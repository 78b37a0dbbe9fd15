import { Group } from '@visx/group';
import { useParentSize } from '@visx/responsive';
import { scaleBand, scaleLinear } from '@visx/scale';
import { Bar as Rect } from '@visx/shape';
import { useId } from 'react';
import { useTranslation } from 'react-i18next';

import { maxMoney, shareBasisPoints } from '@/utils/decimal';
import { formatUsd } from '@/utils/money';

export type Bar = { key: string; label: string; value: string };

/** Until the first measurement (and in jsdom, which has no layout) the plot assumes this width. */
const FALLBACK_WIDTH = 480;
/** Columns above, the time axis's end labels below. */
const PLOT_HEIGHT = 160;
const COLUMNS_HEIGHT = PLOT_HEIGHT + 18;
/** A short series stays bars, not blocks. */
const COLUMN_MAX_WIDTH = 40;
const ROW_HEIGHT = 28;
const LABEL_MAX_WIDTH = 224;
const VALUE_WIDTH = 88;
/** Average glyph width at the chart's font size: SVG text cannot ellipsize itself. */
const GLYPH_WIDTH = 7.5;

type Plotted = Bar & { share: number; text: string };

/**
 * SVG bars drawn with visx. Heights come from each amount's exact share of the largest one in
 * basis points (BigInt math on the money strings), so the scale never sees a money float. Every
 * bar is a list item named "label: $amount" (its <title> says the same as a pointer's tooltip):
 * a screen reader reads the same chart as the eye. Sizes are SVG attributes and colours CSS
 * classes, so a strict style-src CSP needs no exception.
 */
export function BarChart({
  title,
  bars,
  columns = false,
  hideTitle = false,
}: {
  title: string;
  bars: Bar[];
  columns?: boolean;
  /** When a card's heading already says what the chart is: the caption stays for screen readers. */
  hideTitle?: boolean;
}) {
  const { t } = useTranslation();
  const captionId = useId();
  const top = maxMoney(bars.map((bar) => bar.value));
  const plotted = bars.map((bar) => ({
    ...bar,
    share: shareBasisPoints(bar.value, top),
    text: `${bar.label}: ${formatUsd(bar.value)}`,
  }));
  const empty = plotted.every((bar) => bar.share === 0);
  return (
    <figure className="bar-chart" aria-labelledby={captionId}>
      <figcaption id={captionId} className={hideTitle ? 'visually-hidden' : undefined}>
        {title}
      </figcaption>
      {empty ? (
        <p className="muted small">{t('billing.chartEmpty')}</p>
      ) : (
        <Plot bars={plotted} columns={columns} labelledBy={captionId} />
      )}
    </figure>
  );
}

function Plot({ bars, columns, labelledBy }: { bars: Plotted[]; columns: boolean; labelledBy: string }) {
  const { parentRef, width: measured } = useParentSize({ initialSize: { width: FALLBACK_WIDTH } });
  const width = measured > 0 ? Math.floor(measured) : FALLBACK_WIDTH;
  return (
    <div ref={parentRef} className="bar-chart-plot">
      {columns ? (
        <Columns bars={bars} width={width} labelledBy={labelledBy} />
      ) : (
        <Rows bars={bars} width={width} labelledBy={labelledBy} />
      )}
    </div>
  );
}

/**
 * The viewBox lets CSS scale the drawing down (width 100 %, height auto) while a resize is still
 * being measured, instead of cutting off the last bars and amounts.
 */
function svgProps(width: number, height: number, labelledBy: string) {
  return {
    className: 'bar-chart-svg',
    role: 'list',
    'aria-labelledby': labelledBy,
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
  };
}

function Columns({ bars, width, labelledBy }: { bars: Plotted[]; width: number; labelledBy: string }) {
  const x = scaleBand({ domain: bars.map((bar) => bar.key), range: [0, width], paddingInner: 0.1 });
  const y = scaleLinear({ domain: [0, 10_000], range: [0, PLOT_HEIGHT] });
  const barWidth = Math.max(1, Math.min(COLUMN_MAX_WIDTH, x.bandwidth()));
  const left = (key: string) => (x(key) ?? 0) + (x.bandwidth() - barWidth) / 2;
  const first = bars[0];
  const last = bars[bars.length - 1];
  return (
    <svg {...svgProps(width, COLUMNS_HEIGHT, labelledBy)}>
      {bars.map((bar) => {
        const height = Math.max(1, y(bar.share));
        return (
          <g key={bar.key} role="listitem" aria-label={bar.text}>
            <title>{bar.text}</title>
            <Rect
              className="bar-column"
              x={left(bar.key)}
              y={PLOT_HEIGHT - height}
              width={barWidth}
              height={height}
              rx={Math.min(3, barWidth / 4)}
            />
          </g>
        );
      })}
      <line className="bar-axis" x1={0} x2={width} y1={PLOT_HEIGHT + 0.5} y2={PLOT_HEIGHT + 0.5} />
      {/* The time axis names its ends; every column's own date is in its title. */}
      {first && last && first !== last ? (
        <>
          <text className="bar-axis-label" x={left(first.key)} y={COLUMNS_HEIGHT - 4} aria-hidden="true">
            {first.label}
          </text>
          <text
            className="bar-axis-label"
            x={left(last.key) + barWidth}
            y={COLUMNS_HEIGHT - 4}
            textAnchor="end"
            aria-hidden="true"
          >
            {last.label}
          </text>
        </>
      ) : first ? (
        <text
          className="bar-axis-label"
          x={left(first.key) + barWidth / 2}
          y={COLUMNS_HEIGHT - 4}
          textAnchor="middle"
          aria-hidden="true"
        >
          {first.label}
        </text>
      ) : null}
    </svg>
  );
}

function Rows({ bars, width, labelledBy }: { bars: Plotted[]; width: number; labelledBy: string }) {
  const height = bars.length * ROW_HEIGHT;
  const labelWidth = Math.min(LABEL_MAX_WIDTH, Math.floor(width * 0.35));
  const trackWidth = Math.max(1, width - labelWidth - VALUE_WIDTH - 16);
  const y = scaleBand({ domain: bars.map((bar) => bar.key), range: [0, height], paddingInner: 0.4, paddingOuter: 0.2 });
  const x = scaleLinear({ domain: [0, 10_000], range: [0, trackWidth] });
  const maxChars = Math.max(4, Math.floor(labelWidth / GLYPH_WIDTH));
  return (
    <svg {...svgProps(width, height, labelledBy)}>
      {bars.map((bar) => {
        const top = y(bar.key) ?? 0;
        const middle = top + y.bandwidth() / 2;
        return (
          <g key={bar.key} role="listitem" aria-label={bar.text}>
            <title>{bar.text}</title>
            <text className="bar-label" x={0} y={middle} dominantBaseline="central" aria-hidden="true">
              {bar.label.length > maxChars ? `${bar.label.slice(0, maxChars - 1)}…` : bar.label}
            </text>
            <Group left={labelWidth + 8} top={top}>
              <Rect className="bar-track" width={trackWidth} height={y.bandwidth()} rx={4} />
              <Rect className="bar-fill" width={Math.max(1, x(bar.share))} height={y.bandwidth()} rx={4} />
            </Group>
            <text
              className="bar-value"
              x={width}
              y={middle}
              textAnchor="end"
              dominantBaseline="central"
              aria-hidden="true"
            >
              {formatUsd(bar.value)}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
