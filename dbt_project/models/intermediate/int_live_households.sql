-- Households that take part in rules and marts: deleted ones drop out with everything they hold.
select h.*
from {{ ref('stg_platform__households') }} as h
where not h.is_deleted
