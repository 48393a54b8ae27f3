import functools
import re

from odoo import models, tools
from odoo.tools import SQL, unique

MEDIAN_AGGREGATE = "sales_process_median"
# Context key: order many2one groups by their raw id in SQL (see _read_group).
RAW_GROUP_ORDER = "sales_report_raw_group_order"
ORDER_PART = re.compile(r"^\s*(?P<spec>[\w.:]+)(?:\s+(?P<direction>asc|desc))?\s*$", re.IGNORECASE)


class CrmSalesReportMixin(models.AbstractModel):
    """Common ground of the sales process reports: SQL views, plus a median.

    A report model sets ``_auto = False`` and returns :class:`~odoo.tools.SQL`
    from ``_select``, ``_from``, ``_where`` and ``_group_by``; ``init`` builds
    the view from them, so another module can extend one part.

    Median: Odoo's read_group has no median, so ``<field>:median`` is added
    here. A field declared with ``aggregator="median"`` is then a measure like
    any other: the pivot, graph and grouped list views ask the server for
    ``<field>:median`` and get the median of each group (``percentile_cont(0.5)``,
    the mean of the two middle values for an even count).

    Why an aggregate of our own rather than ``percentile_cont(0.5) WITHIN
    GROUP (ORDER BY ...)`` inline: PostgreSQL computes ordered-set aggregates
    by sorting all the rows of the query by group (no hash aggregation, no
    parallel workers), and for a group-by on an indexed column it walks that
    index, fetching the rows one by one. On 800,000 stage stays that took
    about 1 s here; ``sales_process_median`` collects each group's values in an
    array (a normal aggregate: hashed, and computed in parallel) and applies
    ``percentile_cont`` to each group's array: about 0.5 s.

    Group order: to sort groups of a many2one field (stage, team, ...) by the
    order of its model, the ORM joins that model and adds its order columns
    (sequence, translated name, ...) to the GROUP BY. On the large report views
    this made PostgreSQL misjudge the number of groups, give up hashing for
    sorting on disk, and spend half a second compiling the query (JIT): the
    pivot of 675,000 stage entries took 1.6 s. Here the database groups and
    orders many2one values by id, and the few resulting groups are put in the
    model's order in Python, with one query per many2one group-by. A page of
    groups that may not hold them all (a ``limit`` reached, an ``offset``) is
    read again the standard way, so paging stays exact.
    """

    _name = "crm.sales.report.mixin"
    _description = "Sales Process Report (SQL view)"

    def _select(self):
        raise NotImplementedError

    def _from(self):
        raise NotImplementedError

    def _where(self):
        return SQL()

    def _group_by(self):
        return SQL()

    def _query(self):
        return SQL("%s %s %s %s", self._select(), self._from(), self._where(), self._group_by())

    def _search(self, domain, offset=0, limit=None, order=None, **kwargs):
        # The report rows that copy opportunities' fields are synced before a report is read.
        self.env["crm.lead.stage.stay"]._sync_pending_facts()
        return super()._search(domain, offset=offset, limit=limit, order=order, **kwargs)

    def init(self):
        if self._abstract:
            self._create_median_aggregate()
            return
        if self._auto:
            return
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL("CREATE OR REPLACE VIEW %s AS (%s)", SQL.identifier(self._table), self._query())
        )

    def _create_median_aggregate(self):
        cr = self.env.cr
        final = SQL.identifier(f"{MEDIAN_AGGREGATE}_final")
        cr.execute(
            SQL(
                """
                CREATE OR REPLACE FUNCTION %s(float8[]) RETURNS float8
                LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS
                'SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY value) FROM unnest($1) AS value'
                """,
                final,
            )
        )
        cr.execute(SQL("SELECT 1 FROM pg_proc WHERE proname = %s AND prokind = 'a'", MEDIAN_AGGREGATE))
        if not cr.fetchone():
            cr.execute(
                SQL(
                    """
                    CREATE AGGREGATE %s(float8) (
                        SFUNC = array_append,
                        STYPE = float8[],
                        FINALFUNC = %s,
                        COMBINEFUNC = array_cat,
                        PARALLEL = SAFE
                    )
                    """,
                    SQL.identifier(MEDIAN_AGGREGATE),
                    final,
                )
            )

    def _read_group_select(self, aggregate_spec, query):
        fname, _sep, func = aggregate_spec.rpartition(":")
        if func != "median":
            return super()._read_group_select(aggregate_spec, query)
        field = self._fields.get(fname)
        if not field or field.type not in ("integer", "float", "monetary"):
            raise ValueError(f"Invalid aggregate {aggregate_spec!r}: median needs a numeric field.")
        # _field_to_sql checks the field is readable, as the standard aggregates do.
        # array_append skips nothing: NULLs are left out here, as percentile_cont does.
        value = self._field_to_sql(self._table, fname, query)
        return SQL(
            "%s(%s::float8) FILTER (WHERE %s IS NOT NULL)",
            SQL.identifier(MEDIAN_AGGREGATE),
            value,
            value,
        )

    # ------------------------------------------------------------
    # Group order
    # ------------------------------------------------------------

    def _order_field_to_sql(self, alias, field_name, direction, nulls, query):
        field = self._fields.get(field_name)
        if self.env.context.get(RAW_GROUP_ORDER) and field and field.type == "many2one":
            return SQL("%s %s %s", self._field_to_sql(alias, field_name, query), direction, nulls)
        return super()._order_field_to_sql(alias, field_name, direction, nulls, query)

    def _report_group_order(self, groupby_specs, order):
        """``[(spec, descending)]`` if ``order`` only sorts by group-bys, one of them a
        many2one ordered by its model's order; else None (the standard way applies)."""
        if not order:
            return None
        terms = []
        for part in order.split(","):
            match = ORDER_PART.match(part)
            if not match or match["spec"] not in groupby_specs:
                return None
            terms.append((match["spec"], (match["direction"] or "asc").lower() == "desc"))
        if not any(
            (field := self._fields.get(spec))
            and field.type == "many2one"
            and self.env[field.comodel_name]._order != "id"
            for spec, _descending in terms
        ):
            return None
        return terms

    def _report_sort_groups(self, rows, groupby, terms):
        """Sort the rows of a grouped read as the database would have with the model orders."""
        keys = []
        for spec, descending in terms:
            index = list(groupby).index(spec)
            field = self._fields.get(spec)
            rank = None
            if field and field.type == "many2one":
                # sudo: only the order of groups already read is looked up.
                comodel = self.env[field.comodel_name].sudo().with_context(active_test=False)
                ids = list(unique(row[index].id for row in rows if row[index]))
                rank = {
                    record_id: position
                    for position, record_id in enumerate(comodel.search([("id", "in", ids)]).ids)
                }
            keys.append((index, descending, rank, field and field.type == "boolean"))

        def value(row, index, rank, boolean):
            raw = row[index]
            if rank is not None:
                return rank.get(raw.id, len(rank)) if raw else None
            return raw if (boolean or raw is not False) else None

        def compare(row_a, row_b):
            for index, descending, rank, boolean in keys:
                a, b = value(row_a, index, rank, boolean), value(row_b, index, rank, boolean)
                if a == b:
                    continue
                # NULL sorts last ascending, first descending, as in PostgreSQL.
                result = 1 if a is None else -1 if b is None else (a > b) - (a < b)
                return -result if descending else result
            return 0

        return sorted(rows, key=functools.cmp_to_key(compare))

    def _report_rows_env(self, rows):
        """Group values read with the raw-order context, back in this environment."""
        return [
            tuple(value.with_env(self.env) if isinstance(value, models.BaseModel) else value for value in row)
            for row in rows
        ]

    def _read_group(self, domain, groupby=(), aggregates=(), having=(), offset=0, limit=None, order=None):
        terms = self._report_group_order(groupby, order)
        if terms is None:
            return super()._read_group(domain, groupby, aggregates, having, offset, limit, order)
        rows = super(CrmSalesReportMixin, self.with_context(**{RAW_GROUP_ORDER: True}))._read_group(
            domain, groupby, aggregates, having, offset, limit, order
        )
        if limit and (offset or len(rows) >= limit):
            # Not all groups in this page: which ones come first, only the database knows.
            return super()._read_group(domain, groupby, aggregates, having, offset, limit, order)
        return self._report_sort_groups(self._report_rows_env(rows), groupby, terms)

    def _read_grouping_sets(self, domain, grouping_sets, aggregates=(), order=None):
        terms = self._report_group_order(
            list(unique(spec for specs in grouping_sets for spec in specs)), order
        )
        if terms is None:
            return super()._read_grouping_sets(domain, grouping_sets, aggregates, order)
        results = super(
            CrmSalesReportMixin, self.with_context(**{RAW_GROUP_ORDER: True})
        )._read_grouping_sets(domain, grouping_sets, aggregates, order)
        return [
            self._report_sort_groups(
                self._report_rows_env(rows), groupby, [term for term in terms if term[0] in groupby]
            )
            for rows, groupby in zip(results, grouping_sets, strict=True)
        ]
