// The console's charts (Apache ECharts, served from /console/static) and SLA clocks.
(function () {
  // SLA clocks tick every second from the deadline the server rendered.
  function tick() {
    document.querySelectorAll('.clock[data-due]').forEach(function (el) {
      var left = Math.round((Date.parse(el.dataset.due) - Date.now()) / 1000);
      var a = Math.abs(left), text;
      if (a >= 86400) text = Math.floor(a / 86400) + ' d ' + Math.floor(a % 86400 / 3600) + ' h';
      else if (a >= 3600) text = Math.floor(a / 3600) + ' h ' + Math.floor(a % 3600 / 60) + ' min';
      else text = Math.floor(a / 60) + ' min ' + (a % 60) + ' s';
      var zh = document.documentElement.lang === 'zh-CN';
      el.textContent = (left < 0 ? (zh ? '已超时 ' : 'overdue by ') : (zh ? '剩余 ' : 'left ')) + text;
      el.classList.toggle('overdue', left < 0);
    });
  }
  if (document.querySelector('.clock[data-due]')) { tick(); setInterval(tick, 1000); }
})();

var FANZHA_COLOURS = { victim: '#1971c2', freeze_ordered: '#e67700', frozen: '#2b8a3e',
                       emptied: '#868e96', stop: '#7048e8' };
var FANZHA_NAMES = {
  zh: { victim: '受害人账户', freeze_ordered: '已下发止付', frozen: '已冻结', emptied: '资金已转出', stop: '商户/支付机构' },
  en: { victim: 'victim account', freeze_ordered: 'freeze ordered', frozen: 'frozen', emptied: 'money moved on', stop: 'merchant/aggregator' }
};

function fanzhaYuan(fen) { return '¥' + (fen / 100).toLocaleString(undefined, { minimumFractionDigits: 2 }); }

// The money flow of a case: one column per level (0: the victims' accounts), node size by the
// traced amount, colour by freeze status, edges labelled with the traced money they carried.
function fanzhaMoneyGraph(el, graph, lang) {
  var names = FANZHA_NAMES[lang] || FANZHA_NAMES.zh;
  var cats = Object.keys(FANZHA_COLOURS);
  var perLevel = {};
  var maxFen = Math.max.apply(null, graph.nodes.map(function (n) { return n.amount_fen || 1; }).concat([1]));
  var nodes = graph.nodes.map(function (n, i) {
    var row = perLevel[n.level] = (perLevel[n.level] || 0) + 1;
    return {
      id: String(i), name: n.label, x: n.level * 260, y: row * 90,
      value: n.amount_fen, category: cats.indexOf(n.category),
      symbolSize: 18 + 30 * Math.sqrt((n.amount_fen || 0) / maxFen),
      label: { show: true, position: 'bottom', formatter: n.label + '\n' + fanzhaYuan(n.amount_fen || 0) },
      tooltip: { formatter: [n.label, n.bank || '', names[n.category],
                             (lang === 'en' ? 'level ' : '层级 ') + n.level,
                             fanzhaYuan(n.amount_fen || 0)].join('<br>') }
    };
  });
  var links = graph.links.map(function (l) {
    return { source: String(l.source), target: String(l.target), value: l.traced_fen,
             label: { show: true, formatter: fanzhaYuan(l.traced_fen) } };
  });
  var most = Math.max.apply(null, Object.keys(perLevel).map(function (k) { return perLevel[k]; }));
  el.style.height = Math.max(480, 70 * most + 120) + 'px';  // room for the widest level
  var chart = echarts.init(el);
  chart.setOption({
    animation: false,
    tooltip: {},
    legend: [{ data: cats.map(function (c) { return names[c]; }) }],
    series: [{
      type: 'graph', layout: 'none', roam: true, edgeSymbol: ['none', 'arrow'],
      categories: cats.map(function (c) { return { name: names[c], itemStyle: { color: FANZHA_COLOURS[c] } }; }),
      data: nodes, links: links, lineStyle: { width: 2, curveness: 0.1 }
    }]
  });
  return chart;
}

function fanzhaBars(el, rows) {
  var chart = echarts.init(el);
  chart.setOption({
    animation: false,
    tooltip: {},
    grid: { left: 260 },
    xAxis: { type: 'value', max: 100, axisLabel: { formatter: '{value}%' } },
    yAxis: { type: 'category', data: rows.map(function (r) { return r.name; }).reverse() },
    series: [{ type: 'bar', data: rows.map(function (r) { return r.value; }).reverse(),
               label: { show: true, position: 'right', formatter: '{c}%' } }]
  });
  return chart;
}

// 无诈社区: warnings and victims per county (bars), dissuasion rate (line, right axis).
function fanzhaCommunities(el, d) {
  var chart = echarts.init(el);
  chart.setOption({
    animation: false,
    tooltip: { trigger: 'axis' },
    legend: { data: d.labels, top: 0 },
    grid: { bottom: 120 },
    xAxis: { type: 'category', data: d.names, axisLabel: { rotate: 40 } },
    yAxis: [{ type: 'value' }, { type: 'value', max: 100, axisLabel: { formatter: '{value}%' } }],
    series: [
      { name: d.labels[0], type: 'bar', data: d.warnings },
      { name: d.labels[1], type: 'bar', data: d.victims },
      { name: d.labels[2], type: 'line', yAxisIndex: 1,
        data: d.rate.map(function (r) { return r === null ? null : Math.round(r * 1000) / 10; }) }
    ]
  });
  return chart;
}

// Account rings: mule accounts (size by score, colour by ring) and the money between them.
function fanzhaRings(el, g) {
  var rings = Array.from(new Set(g.nodes.map(function (n) { return n.ring; })));
  var chart = echarts.init(el);
  chart.setOption({
    animation: false,
    tooltip: {},
    series: [{
      type: 'graph', layout: 'force', roam: true, edgeSymbol: ['none', 'arrow'],
      force: { repulsion: 120, edgeLength: 80 },
      categories: rings.map(function (r) { return { name: String(r) }; }),
      data: g.nodes.map(function (n, i) {
        return { id: String(i), name: n.label, category: rings.indexOf(n.ring),
                 symbolSize: 10 + 20 * n.score, value: n.score };
      }),
      links: g.links.map(function (l) {
        return { source: String(l.source), target: String(l.target), value: l.amount_fen,
                 tooltip: { formatter: fanzhaYuan(l.amount_fen) + ' (' + l.transfers + ')' } };
      })
    }]
  });
  return chart;
}
