import { RANGES, type Range } from '../api/schema'

const LABELS: Record<Range, string> = { '15m': '15 min', '1h': '1 h', '6h': '6 h', '24h': '24 h', '7d': '7 days' }

/** The span a chart shows: "15 min" reads better than the API's "15m". */
export function rangeLabel(r: Range): string {
  return LABELS[r]
}

interface Props {
  value: Range
  onChange: (r: Range) => void
  /** Names the group for assistive technology ("Chart range"). */
  label: string
}

/** A segmented choice of the charts' ranges: radio buttons, so arrow keys move between them. */
export function RangePicker({ value, onChange, label }: Props) {
  return (
    <fieldset className="inline-flex rounded-md border border-slate-300 text-xs dark:border-slate-700">
      <legend className="sr-only">{label}</legend>
      {RANGES.map((r) => (
        <label
          key={r}
          className="cursor-pointer px-2 py-1 first:rounded-l-md last:rounded-r-md has-checked:bg-slate-900 has-checked:text-white has-focus-visible:outline-2 has-focus-visible:outline-blue-500 dark:has-checked:bg-slate-100 dark:has-checked:text-slate-900"
        >
          <input
            type="radio"
            className="sr-only"
            name={label}
            value={r}
            checked={value === r}
            onChange={() => onChange(r)}
          />
          {LABELS[r]}
        </label>
      ))}
    </fieldset>
  )
}
