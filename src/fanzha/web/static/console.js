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

// Account rings: accounts (size by score) joined to the devices and phones they share in their
// ring; colour by kind, lockstep accounts outlined.
var FANZHA_RING_KINDS = { zh: { account: '账户', device: '共用设备', phone: '共用手机号' },
                          en: { account: 'account', device: 'shared device', phone: 'shared phone' } };
function fanzhaRings(el, g, lang) {
  var names = FANZHA_RING_KINDS[lang] || FANZHA_RING_KINDS.zh;
  var kinds = ['account', 'device', 'phone'];
  el.style.height = Math.max(520, Math.min(1400, 6 * g.nodes.length)) + 'px';
  var chart = echarts.init(el);
  chart.setOption({
    animation: false,
    tooltip: {},
    legend: [{ data: kinds.map(function (k) { return names[k]; }) }],
    series: [{
      type: 'graph', layout: 'force', roam: true,
      force: { repulsion: 60, edgeLength: 40, gravity: 0.1 },
      categories: kinds.map(function (k) { return { name: names[k] }; }),
      data: g.nodes.map(function (n, i) {
        var account = n.kind === 'account';
        return { id: String(i), name: n.label, category: kinds.indexOf(n.kind),
                 symbol: account ? 'circle' : 'rect',
                 symbolSize: account ? 6 + 12 * n.score : 8 + 2 * Math.sqrt(n.accounts),
                 itemStyle: n.lockstep ? { borderColor: '#c92a2a', borderWidth: 2 } : undefined,
                 tooltip: { formatter: [n.ring, names[n.kind], n.label,
                                        account ? n.score.toFixed(2) : n.accounts + ' ×'].join('<br>') } };
      }),
      links: g.links.map(function (l) { return { source: String(l.source), target: String(l.target) }; })
    }]
  });
  return chart;
}

// Leak sources: each source's share of the victims against its share of all customers.
function fanzhaLeaks(el, d) {
  el.style.height = Math.max(240, 40 * d.names.length + 100) + 'px';
  var chart = echarts.init(el);
  chart.setOption({
    animation: false,
    tooltip: { trigger: 'axis' },
    legend: { data: d.labels, top: 0 },
    grid: { left: 300, top: 30 },
    xAxis: { type: 'value', max: 100, axisLabel: { formatter: '{value}%' } },
    yAxis: { type: 'category', data: d.names.slice().reverse() },
    series: [
      { name: d.labels[0], type: 'bar', data: d.victims.slice().reverse(), label: { show: true, position: 'right', formatter: '{c}%' } },
      { name: d.labels[1], type: 'bar', data: d.customers.slice().reverse() }
    ]
  });
  return chart;
}
