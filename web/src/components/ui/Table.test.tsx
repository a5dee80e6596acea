import { render, screen, within } from '../../test/render'
import { describe, expect, it } from 'vitest'
import { DataTable, type Column } from './Table'

interface Row {
  id: number
  name: string
}

const COLUMNS: Column<Row>[] = [
  { header: 'Name', cell: (r) => r.name },
  { header: 'Id', cell: (r) => r.id, className: (r) => (r.id > 1 ? 'late' : '') },
  { header: 'Actions', hideHeader: true, cell: (r) => <button type="button">Open {r.name}</button> },
]

describe('DataTable', () => {
  it('labels every cell with its header, so stacked rows read "label: value"', () => {
    render(
      <DataTable
        caption="People"
        columns={COLUMNS}
        rows={[
          { id: 1, name: 'Ada' },
          { id: 2, name: 'Bob' },
        ]}
        rowKey={(r) => r.id}
      />,
    )
    const table = screen.getByRole('table', { name: 'People' })
    expect(within(table).getAllByRole('columnheader').map((h) => h.textContent)).toEqual(['Name', 'Id', 'Actions'])
    const cells = within(within(table).getAllByRole('row')[2]).getAllByRole('cell')
    expect(cells.map((c) => c.getAttribute('data-label'))).toEqual(['Name', 'Id', null])
    expect(cells.map((c) => c.textContent)).toEqual(['Bob', '2', 'Open Bob'])
    expect(cells[1].classList.contains('late')).toBe(true)
  })

  it('says why it is empty in a row spanning every column', () => {
    render(<DataTable caption="People" columns={COLUMNS} rows={[]} rowKey={(r) => r.id} empty="Nobody yet." />)
    const cell = screen.getByRole('cell', { name: 'Nobody yet.' })
    expect(cell.getAttribute('colspan')).toBe('3')
  })
})
