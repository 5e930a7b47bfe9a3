{% test unique_combination(model, columns) %}
{#- The grain of a mart spanning several columns: no two rows share all of them. -#}
select {{ columns | join(', ') }}, count(*) as rows_with_this_key
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
