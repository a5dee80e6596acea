import type { ComponentProps } from 'react'

/** How loud a button is: primary for the one action of a form, secondary for the others, quiet for many small ones. */
export type ButtonVariant = 'primary' | 'secondary' | 'quiet'

/**
 * The fill of a primary button. Every tone keeps white text at 4.5:1 or more
 * (WCAG AA), which is why green and orange are their 700 shades.
 */
export type ButtonTone = 'blue' | 'green' | 'purple' | 'orange' | 'red' | 'slate'

const BASE =
  'inline-flex items-center justify-center gap-1 rounded-md text-center font-medium transition-colors focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-blue-600 disabled:cursor-not-allowed disabled:opacity-50 aria-busy:cursor-wait dark:focus-visible:outline-blue-400'

const TONE: Record<ButtonTone, string> = {
  blue: 'bg-blue-600 text-white hover:bg-blue-700',
  green: 'bg-green-700 text-white hover:bg-green-800',
  purple: 'bg-purple-600 text-white hover:bg-purple-700',
  orange: 'bg-orange-700 text-white hover:bg-orange-800',
  red: 'bg-red-600 text-white hover:bg-red-700',
  slate: 'bg-slate-700 text-white hover:bg-slate-800 dark:bg-slate-600 dark:hover:bg-slate-500',
}

const VARIANT: Record<Exclude<ButtonVariant, 'primary'>, string> = {
  secondary:
    'border border-slate-300 bg-white text-slate-800 hover:bg-slate-100 dark:border-slate-600 dark:bg-slate-900 dark:text-slate-100 dark:hover:bg-slate-800',
  quiet: 'bg-slate-100 text-slate-800 hover:bg-slate-200 dark:bg-slate-800 dark:text-slate-100 dark:hover:bg-slate-700',
}

const SIZE = {
  sm: 'px-2 py-0.5 text-xs',
  md: 'px-3 py-1.5 text-sm',
  lg: 'px-4 py-2 text-sm',
}

export type ButtonProps = ComponentProps<'button'> & {
  variant?: ButtonVariant
  /** The fill of a primary button; ignored by the others. */
  tone?: ButtonTone
  size?: keyof typeof SIZE
}

/** A button; `type` defaults to "button" so it never submits a form by accident. */
export function Button({
  variant = 'secondary',
  tone = 'blue',
  size = 'md',
  type = 'button',
  className = '',
  ...rest
}: ButtonProps) {
  const look = variant === 'primary' ? TONE[tone] : VARIANT[variant]
  return <button type={type} className={`${BASE} ${look} ${SIZE[size]} ${className}`} {...rest} />
}
