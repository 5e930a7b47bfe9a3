{% test between_zero_and_one(model, column_name) %}
{#- A rate must lie in [0, 1]; nulls (no denominator) pass. -#}
select *
from {{ model }}
where {{ column_name }} < 0 or {{ column_name }} > 1
{% endtest %}
