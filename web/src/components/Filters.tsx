import { useMaskedFields } from '../hooks/resources'
import { EVENT_FIELDS, FILTER_OPS, PROPERTY_PREFIX, type FilterOp, type FunnelFilter } from '../api/schema'
import { Button } from './ui/Button'
import { Field, Input, Label, Select } from './ui/Field'

// Filters as funnels and trends edit them, and the field chooser they and
// breakdowns share. In a URL a filter is "<field>:<op>[:<value>]": a field
// and an op never hold a colon, so the value is the rest, colons and all;
// the values of `in` are a comma-separated list (see splitList).

/** A filter as the page edits it: the values of `in` are one comma-separated text. */
export interface FilterDraft {
  field: string
  op: FilterOp
  value: string
}

export const OP_LABELS: Record<FilterOp, string> = {
  equals: 'equals',
  not_equals: 'is not',
  contains: 'contains',
  in: 'is one of',
  is_set: 'is set',
}
export const FIELD_LABELS: Record<string, string> = {
  page: 'Page',
  element_id: 'Element',
  source_id: 'Source',
  session_id: 'Session',
  event_type: 'Event type',
  [PROPERTY_PREFIX]: 'Property…',
}
const PROPERTY_KEY = /^[A-Za-z0-9_-]{1,64}$/

export const isOp = (v: string): v is FilterOp => (FILTER_OPS as readonly string[]).includes(v)
/** Splits a comma-separated list: "\," is a comma inside a value, "\\" a backslash; values are trimmed, empty ones dropped. */
export function splitList(text: string): string[] {
  const out: string[] = []
  let cur = ''
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === '\\' && i + 1 < text.length) cur += text[++i]
    else if (c === ',') {
      out.push(cur)
      cur = ''
    } else cur += c
  }
  out.push(cur)
  return out.map((v) => v.trim()).filter((v) => v !== '')
}

/** Joins values into the text splitList reads back. */
export function joinList(values: readonly string[]): string {
  return values.map((v) => v.replace(/\\/g, '\\\\').replace(/,/g, '\\,')).join(', ')
}

/** The filter the server takes for a draft. */
export function filterOf(f: FilterDraft): FunnelFilter {
  if (f.op === 'is_set') return { field: f.field, op: f.op }
  if (f.op === 'in') return { field: f.field, op: f.op, values: splitList(f.value) }
  return { field: f.field, op: f.op, value: f.value }
}

/** What keeps a filter from being asked for, in words, or null. */
export function filterProblem(f: FilterDraft): string | null {
  const p = fieldProblem(f.field)
  if (p !== null) return p
  if (f.op === 'contains' && f.value === '') return '“contains” needs a value'
  if (f.op === 'in' && splitList(f.value).length === 0) return '“is one of” needs a value'
  return null
}

/** A filter as a URL writes it: "<field>:<op>[:<value>]", the draft's text as typed. */
export function filterParam(f: FilterDraft): string {
  return [f.field, f.op, ...(f.op === 'is_set' ? [] : [f.value])].join(':')
}

/** The filter a URL's "<field>:<op>[:<value>]" holds, or null. */
export function filterOfParam(text: string): FilterDraft | null {
  const m = /^([^:]+):([^:]+)(?::([\s\S]*))?$/.exec(text)
  if (m === null || !isOp(m[2])) return null
  return { field: m[1], op: m[2], value: m[3] ?? '' }
}

/** The filter a trend's query string takes: the values of `in` as a list whose commas within a value are escaped. */
export function trendFilter(f: FilterDraft): string {
  if (f.op !== 'in') return filterParam(f)
  const values = splitList(f.value).map((v) => v.replace(/\\/g, '\\\\').replace(/,/g, '\\,'))
  return `${f.field}:in:${values.join(',')}`
}

/** What keeps a field from being asked for, or null. */
export function fieldProblem(field: string): string | null {
  if (!field.startsWith(PROPERTY_PREFIX)) return null
  return PROPERTY_KEY.test(field.slice(PROPERTY_PREFIX.length))
    ? null
    : 'a property key is 1 to 64 letters, digits, “_” or “-”'
}

/** A filter in words: page = /pricing, properties.plan is one of pro, team. */
export function describeFilter(f: FunnelFilter): string {
  switch (f.op) {
    case 'equals':
      return `${f.field} = ${f.value ?? ''}`
    case 'not_equals':
      return `${f.field} ≠ ${f.value ?? ''}`
    case 'contains':
      return `${f.field} contains ${f.value ?? ''}`
    case 'in':
      return `${f.field} is one of ${(f.values ?? []).join(', ')}`
    case 'is_set':
      return `${f.field} is set`
  }
}

/** A field chooser (page, element, source, session or a property) with the property's key beside it. */
export function FieldPicker({
  id,
  label,
  value,
  onChange,
  allowNone = false,
  fields = EVENT_FIELDS,
}: {
  id: string
  label: string
  value: string
  onChange: (field: string) => void
  allowNone?: boolean
  /** The fields offered besides None and a property. */
  fields?: readonly string[]
}) {
  const isProperty = value.startsWith(PROPERTY_PREFIX)
  const choice = isProperty ? PROPERTY_PREFIX : value
  const options = [...(allowNone ? [''] : []), ...fields, PROPERTY_PREFIX]
  if (!options.includes(choice)) options.push(choice)
  const bad = isProperty && fieldProblem(value) !== null
  return (
    <>
      <Field>
        <Label htmlFor={id}>{label}</Label>
        <Select id={id} value={choice} onChange={(e) => onChange(e.target.value)}>
          {options.map((f) => (
            <option key={f} value={f}>
              {f === '' ? 'None' : (FIELD_LABELS[f] ?? f)}
            </option>
          ))}
        </Select>
      </Field>
      {isProperty && (
        <Field>
          <Label htmlFor={`${id}-key`}>{`${label}: property key`}</Label>
          <Input
            id={`${id}-key`}
            className="w-32"
            value={value.slice(PROPERTY_PREFIX.length)}
            placeholder="plan"
            aria-invalid={bad}
            onChange={(e) => onChange(PROPERTY_PREFIX + e.target.value.trim())}
          />
        </Field>
      )}
    </>
  )
}

/** A field in words: Session, properties.email. */
function fieldName(field: string): string {
  return FIELD_LABELS[field] ?? field
}

/**
 * One filter's field, operator and value, and a button that removes it. On
 * a field the reader sees masked only "is set" is offered (the server
 * refuses the others: their answer would tell the value), and a line says so.
 */
export function FilterRow({
  id,
  name,
  removeLabel,
  filter: f,
  onChange,
  onRemove,
}: {
  id: string
  /** The group's accessible name, as "Step 2, filter 1". */
  name: string
  removeLabel: string
  filter: FilterDraft
  onChange: (next: FilterDraft) => void
  onRemove: () => void
}) {
  const masked = useMaskedFields()
  const personal = masked.has(f.field)
  // A filter a link or a saved insight holds keeps its operator, which the server then refuses in words.
  const ops = personal ? FILTER_OPS.filter((op) => op === 'is_set' || op === f.op) : FILTER_OPS
  return (
    <div
      role="group"
      aria-label={name}
      className="flex flex-wrap items-end gap-2 border-l-2 border-slate-200 pl-3 dark:border-slate-700"
    >
      <FieldPicker
        id={`${id}-field`}
        label="Field"
        value={f.field}
        onChange={(field) => onChange(masked.has(field) ? { field, op: 'is_set', value: '' } : { ...f, field })}
      />
      <Field>
        <Label htmlFor={`${id}-op`}>Operator</Label>
        <Select
          id={`${id}-op`}
          value={f.op}
          onChange={(e) =>
            isOp(e.target.value) &&
            onChange({ ...f, op: e.target.value, value: e.target.value === 'is_set' ? '' : f.value })
          }
        >
          {ops.map((op) => (
            <option key={op} value={op}>
              {OP_LABELS[op]}
            </option>
          ))}
        </Select>
      </Field>
      {f.op !== 'is_set' && (
        <Field>
          <Label htmlFor={`${id}-value`}>{f.op === 'in' ? 'Values, comma-separated' : 'Value'}</Label>
          <Input
            id={`${id}-value`}
            className="w-44"
            value={f.value}
            placeholder={f.op === 'in' ? 'pro, team' : '/pricing'}
            onChange={(e) => onChange({ ...f, value: e.target.value })}
          />
        </Field>
      )}
      <Button size="sm" variant="quiet" className="mb-1" aria-label={removeLabel} onClick={onRemove}>
        ✕
      </Button>
      {personal && (
        <p className="basis-full text-xs text-slate-600 dark:text-slate-400">
          {fieldName(f.field)} is a personal field: filtering by its value needs the admin role, so only “is set” is
          offered.
        </p>
      )}
    </div>
  )
}
