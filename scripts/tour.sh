#!/usr/bin/env bash
# The README's five-minute tour, as a script: run it against a server started with `npm start`
# (it reads the demo keys from .tandem/demo-credentials.json). Each step prints what came back.
set -euo pipefail
API=${API:-http://127.0.0.1:3000}
CREDS=${CREDS:-.tandem/demo-credentials.json}
SK=$(node -e "console.log(require(require('path').resolve('$CREDS')).secret_key)")
WK=$(node -e "console.log(require(require('path').resolve('$CREDS')).write_key)")
j() { node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const o=JSON.parse(s);console.log($1)})"; }
post() { curl -sf -X POST "$API$1" -H "Authorization: Bearer $SK" -H 'Content-Type: application/json' -d "$2"; }
get() { curl -sf "$API$1" -H "Authorization: Bearer $SK"; }
SUFFIX=$RANDOM

echo "1. A metric, a limit feature and a plan (Pro, \$199/month + API calls over 10,000 at 0.1¢)"
post /v1/billable_metrics "{\"key\":\"api_calls_$SUFFIX\",\"name\":\"API calls\",\"event_name\":\"API Call\",\"aggregation\":\"count\"}" >/dev/null
post /v1/features "{\"key\":\"api_calls_$SUFFIX\",\"name\":\"API calls\",\"type\":\"limit\"}" >/dev/null
post /v1/plans "{\"key\":\"pro_$SUFFIX\",\"name\":\"Pro\",\"currency\":\"usd\",\"prices\":[{\"type\":\"flat\",\"unit_amount\":19900},{\"type\":\"usage\",\"billable_metric\":\"api_calls_$SUFFIX\",\"charge_model\":\"graduated\",\"tiers\":[{\"up_to\":10000,\"unit_amount\":0},{\"up_to\":null,\"unit_amount_decimal\":\"0.1\"}]}],\"entitlements\":[{\"feature_key\":\"api_calls_$SUFFIX\",\"limit\":10000,\"billable_metric\":\"api_calls_$SUFFIX\"}]}" | j "o.id + ' v' + o.current_version"

echo "2. A customer, identified by a Segment group call with the write key"
curl -sf -X POST "$API/v1/group" -u "$WK:" -H 'Content-Type: application/json' \
  -d "{\"userId\":\"ada-$SUFFIX\",\"groupId\":\"acme-$SUFFIX\",\"traits\":{\"name\":\"Acme\",\"employees\":240,\"industry\":\"Software\",\"website\":\"acme-$SUFFIX.com\"}}" >/dev/null
ACCT=$(get "/v1/accounts?external_id=acme-$SUFFIX" | j "o.data[0].id")
echo "   account $ACCT"

echo "3. A card and a subscription (the first month is invoiced and charged at once)"
PM=$(post /v1/payment_methods "{\"account\":\"$ACCT\",\"type\":\"card\",\"card\":{\"number\":\"4242424242424242\",\"exp_month\":12,\"exp_year\":2034,\"cvc\":\"123\"}}" | j "o.id")
SUB=$(post /v1/subscriptions "{\"account\":\"$ACCT\",\"plan\":\"pro_$SUFFIX\",\"payment_method\":\"$PM\"}" | j "o.id")
echo "   subscription $SUB"

echo "4. Product events: 12,500 API calls and a few pricing-page views"
for b in 1 2 3 4 5; do
  node -e "const b=[];for(let i=0;i<2500;i++)b.push({type:'track',event:'API Call',userId:'ada-$SUFFIX',messageId:'tour-$SUFFIX-$b-'+i,context:{groupId:'acme-$SUFFIX'}});console.log(JSON.stringify({batch:b}))" \
    | curl -sf -X POST "$API/v1/batch" -u "$WK:" -H 'Content-Type: application/json' --data-binary @- >/dev/null
done
for i in 1 2 3; do
  curl -sf -X POST "$API/v1/track" -u "$WK:" -H 'Content-Type: application/json' -d "{\"event\":\"Pricing Page Viewed\",\"userId\":\"ada-$SUFFIX\",\"context\":{\"groupId\":\"acme-$SUFFIX\"}}" >/dev/null
done

echo "5. May Acme make more API calls? (limit 10,000)"
get "/v1/entitlements/check?account=$ACCT&feature=api_calls_$SUFFIX" | j "JSON.stringify({allowed:o.allowed,used:o.used,limit:o.limit,remaining:o.remaining})"

echo "6. Acme's PQL score and why (a sandbox's time stands still until you move it: one second lets the per-event re-score run)"
post /v1/test_clock/advance '{"by":"PT1S"}' >/dev/null
get "/v1/accounts/$ACCT/score" | j "o.score + ' (' + o.level + ') ' + o.explanation.summary + '\\n   ' + o.explanation.top_contributors.join('\\n   ')"

echo "7. The next invoice, previewed"
get "/v1/invoices/upcoming?subscription=$SUB" | j "o.lines.map(l=>l.description+': '+l.amount).join('\n   ') + '\n   total ' + o.total"

echo "8. A month passes on the test clock: the renewal bills the fee in advance and the usage in arrears"
post /v1/test_clock/advance '{"by":"P1M"}' | j "'clock ' + o.frozen_time + ', ' + o.jobs_run + ' jobs ran'"
get "/v1/invoices?subscription=$SUB" | j "o.data.map(i=>i.number+' '+i.status+' '+i.total).join('\n   ')"

echo "9. Self-serve: a hosted checkout page for the plan (open the URL; card 4242 4242 4242 4242 pays, 4000 0000 0000 0002 declines)"
post /v1/checkout/sessions "{\"plan\":\"pro_$SUFFIX\",\"success_url\":\"https://example.com/welcome\",\"cancel_url\":\"https://example.com/pricing\"}" | j "'   ' + o.url"

echo "10. Sales-led: a 12-month quote on Net 30 with 10% off, submitted and sent; the buyer accepts on its page"
Q=$(post /v1/quotes "{\"account\":\"$ACCT\",\"plan\":\"pro_$SUFFIX\",\"interval\":\"month\",\"term_months\":12,\"payment_terms\":{\"method\":\"invoice\",\"net_days\":30},\"discount\":{\"type\":\"percent\",\"percent\":\"10\"}}" | j "o.id")
post "/v1/quotes/$Q/submit" '{}' >/dev/null
post "/v1/quotes/$Q/send" '{}' | j "'   ' + o.number + ' ' + o.status + ' ' + o.url"
